import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../../errors.ts";
import { SlotQueue } from "./slot-queue.ts";

test("grants slots up to capacity, then queues in order", async () => {
  const queue = new SlotQueue({ slots: 2, maxWaiting: 5 });
  const signal = new AbortController().signal;
  const first = await queue.acquire(signal);
  await queue.acquire(signal);
  const order: number[] = [];
  const third = queue.acquire(signal).then((release) => (order.push(3), release));
  const fourth = queue.acquire(signal).then((release) => (order.push(4), release));
  assert.equal(queue.waiting, 2);
  first();
  first(); // releasing twice frees one slot only
  const releaseThird = await third;
  assert.deepEqual(order, [3]);
  assert.equal(queue.busy, 2);
  releaseThird();
  await fourth;
  assert.deepEqual(order, [3, 4]);
});

test("a full queue refuses at once with Retry-After", async () => {
  const queue = new SlotQueue({ slots: 1, maxWaiting: 1, retryAfterSeconds: 2 });
  const signal = new AbortController().signal;
  await queue.acquire(signal);
  void queue.acquire(signal);
  await assert.rejects(
    queue.acquire(signal),
    (error: unknown) => isOstromError(error, "too_many_requests") && error.retryAfterSeconds === 2,
  );
});

test("an aborted waiter leaves the queue at once", async () => {
  const queue = new SlotQueue({ slots: 1, maxWaiting: 3 });
  const release = await queue.acquire(new AbortController().signal);
  const controller = new AbortController();
  const waiting = queue.acquire(controller.signal);
  controller.abort();
  await assert.rejects(waiting, (error: unknown) => isOstromError(error, "request_cancelled"));
  assert.equal(queue.waiting, 0);
  release();
  assert.equal(queue.busy, 0);
});
