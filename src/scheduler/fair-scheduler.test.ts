import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { type EnqueueOptions, FairScheduler, type Ticket } from "./fair-scheduler.ts";
import { ManualClock } from "./manual-clock.ts";
import { runSimulation, type SimulatedTenant } from "./run-simulation.ts";
import { createTenantPath, type TenantPath } from "./tenant-path.ts";

const pathOf = (
  organizationId: string,
  teamId = "team",
  apiKeyId = "key",
  weights: [number, number] = [1, 1],
) =>
  createTenantPath({
    organizationId,
    teamId,
    apiKeyId,
    organizationWeight: weights[0],
    teamWeight: weights[1],
  });

function request(path: TenantPath, extra: Partial<EnqueueOptions> = {}): EnqueueOptions {
  return { path, priority: "interactive", promptTokens: 10, estimatedTokens: 100, ...extra };
}

function shareOf(result: ReturnType<typeof runSimulation>, name: string): number {
  const tokens = result.tenants.find((tenant) => tenant.name === name)?.tokens ?? 0;
  return tokens / result.totalTokens;
}

function backlogged(name: string, path: TenantPath): SimulatedTenant {
  return { name, path, inFlight: 12, promptTokens: 64, completionTokens: 128 };
}

test("shares converge to weights in a two-level hierarchy", () => {
  const result = runSimulation({
    mode: "fair",
    slots: 8,
    durationMs: 200_000,
    warmupMs: 20_000,
    tenants: [
      backlogged("x1", pathOf("x", "t1", "k", [3, 1])),
      backlogged("x2", pathOf("x", "t2", "k", [3, 3])),
      backlogged("y", pathOf("y", "t", "k", [1, 1])),
    ],
  });
  const expected = { x1: 0.75 * 0.25, x2: 0.75 * 0.75, y: 0.25 };
  for (const [name, share] of Object.entries(expected)) {
    const actual = shareOf(result, name);
    assert.ok(Math.abs(actual - share) / share < 0.1, `${name}: ${actual.toFixed(3)} vs ${share}`);
  }
});

test("keys of one team share equally, whatever their request sizes", () => {
  const tenants = ["a", "b", "c"].map((key, index) => ({
    ...backlogged(key, pathOf("org", "team", key)),
    completionTokens: 64 * (index + 1) ** 2,
  }));
  const result = runSimulation({ mode: "fair", slots: 6, durationMs: 200_000, warmupMs: 20_000, tenants });
  for (const key of ["a", "b", "c"]) assert.ok(Math.abs(shareOf(result, key) - 1 / 3) < 0.033, key);
});

test("work conservation: a lone tenant fills every slot, and takes over an idle tenant's share", () => {
  const clock = new ManualClock();
  const scheduler = new FairScheduler({ capacity: 4, clock });
  const a = Array.from({ length: 6 }, () => scheduler.enqueue(request(pathOf("a"))));
  assert.equal(scheduler.running, 4);
  assert.equal(scheduler.queued, 2);
  const b = scheduler.enqueue(request(pathOf("b")));
  scheduler.release(a[0]!);
  assert.equal(b.state, "admitted", "the newcomer gets the freed slot first");
  scheduler.release(b);
  assert.equal(a[4]!.state, "admitted", "with b idle, a gets the slot back at once");
  assert.equal(scheduler.running, 4);
});

test("an idle tenant banks no credit: on return it alternates with the busy one", () => {
  const clock = new ManualClock();
  const scheduler = new FairScheduler({ capacity: 1, clock });
  const a = pathOf("a");
  const b = pathOf("b");
  for (let i = 0; i < 50; i++) {
    const ticket = scheduler.enqueue(request(a, { promptTokens: 100 }));
    scheduler.release(ticket);
  }
  const blocker = scheduler.enqueue(request(a, { promptTokens: 100 }));
  const order: string[] = [];
  const tickets = [
    ...Array.from({ length: 4 }, () =>
      scheduler.enqueue(request(b, { promptTokens: 100, estimatedTokens: 100 })),
    ),
    ...Array.from({ length: 4 }, () =>
      scheduler.enqueue(request(a, { promptTokens: 100, estimatedTokens: 100 })),
    ),
  ];
  scheduler.release(blocker);
  for (let i = 0; i < tickets.length; i++) {
    const running = tickets.find((ticket) => ticket.state === "admitted")!;
    order.push(running.path.organizationId);
    scheduler.release(running);
  }
  assert.deepEqual(order, ["b", "a", "b", "a", "b", "a", "b", "a"]);
});

test("interactive goes before batch, and batch ages into the top class so it never starves", () => {
  const clock = new ManualClock();
  const scheduler = new FairScheduler({ capacity: 1, clock, batchAgeingMs: 1000 });
  const tickets: Ticket[] = [scheduler.enqueue(request(pathOf("x")))];
  const batch = scheduler.enqueue(request(pathOf("b"), { priority: "batch" }));
  tickets.push(scheduler.enqueue(request(pathOf("i"))));
  scheduler.release(tickets[0]!);
  assert.equal(tickets[1]!.state, "admitted");
  assert.equal(batch.state, "queued");
  // A steady stream of interactive work from another tenant: batch still starts once it has aged.
  for (let step = 0; step < 20 && batch.state === "queued"; step++) {
    tickets.push(scheduler.enqueue(request(pathOf("i"))));
    clock.advance(100);
    scheduler.release(tickets.find((ticket) => ticket.state === "admitted")!);
  }
  assert.equal(batch.state, "admitted");
  assert.equal(clock.now(), 1000);
});

test("cancellation removes a waiting request at once and rejects it", async () => {
  const scheduler = new FairScheduler({ capacity: 1, clock: new ManualClock() });
  scheduler.enqueue(request(pathOf("a")));
  const controller = new AbortController();
  const ticket = scheduler.enqueue(request(pathOf("b"), { signal: controller.signal }));
  assert.equal(scheduler.queued, 1);
  controller.abort();
  assert.equal(scheduler.queued, 0);
  assert.equal(ticket.state, "rejected");
  await assert.rejects(ticket.admitted, (error) => isOstromError(error, "request_cancelled"));
  assert.deepEqual(
    scheduler.snapshot().tenants.map((tenant) => tenant.organizationId),
    ["a"],
  );
  const withdrawn = scheduler.enqueue(request(pathOf("c")));
  scheduler.release(withdrawn);
  await assert.rejects(withdrawn.admitted, (error) => isOstromError(error, "request_cancelled"));
  assert.throws(
    () => scheduler.enqueue(request(pathOf("d"), { signal: AbortSignal.abort() })),
    (error) => isOstromError(error, "request_cancelled"),
  );
});

test("a deadline that passes in the queue rejects with queue_timeout and leaves the queue", async () => {
  const clock = new ManualClock(5000);
  const scheduler = new FairScheduler({ capacity: 1, clock });
  const first = scheduler.enqueue(request(pathOf("a")));
  const late = scheduler.enqueue(request(pathOf("b"), { deadline: 5500 }));
  const onTime = scheduler.enqueue(request(pathOf("c"), { deadline: 9000 }));
  clock.advance(499);
  assert.equal(late.state, "queued");
  clock.advance(1);
  assert.equal(late.state, "rejected");
  assert.equal(scheduler.queued, 1);
  await assert.rejects(
    late.admitted,
    (error) => isOstromError(error, "queue_timeout") && error.status === 503,
  );
  scheduler.release(first);
  await onTime.admitted;
  assert.equal(clock.pendingTimers, 0, "the admitted request's deadline timer is cleared");
});

test("bounded queues refuse at once with 429, a reason code and Retry-After", () => {
  const scheduler = new FairScheduler({
    capacity: 1,
    maxQueuedPerKey: 2,
    maxQueued: 3,
    clock: new ManualClock(),
  });
  scheduler.enqueue(request(pathOf("a")));
  scheduler.enqueue(request(pathOf("a")));
  scheduler.enqueue(request(pathOf("a")));
  assert.throws(
    () => scheduler.enqueue(request(pathOf("a"))),
    (error) =>
      isOstromError(error, "queue_full_tenant") &&
      error.status === 429 &&
      (error.retryAfterSeconds ?? 0) >= 1,
  );
  scheduler.enqueue(request(pathOf("b")));
  assert.throws(
    () => scheduler.enqueue(request(pathOf("c"))),
    (error) =>
      isOstromError(error, "queue_full_global") &&
      error.status === 429 &&
      (error.retryAfterSeconds ?? 0) >= 1,
  );
  assert.equal(scheduler.queued, 3);
});

test("positions follow the order of admission", () => {
  const scheduler = new FairScheduler({ capacity: 1, clock: new ManualClock() });
  let running = scheduler.enqueue(request(pathOf("a")));
  const queued = [
    scheduler.enqueue(request(pathOf("a"))),
    scheduler.enqueue(request(pathOf("a"))),
    scheduler.enqueue(request(pathOf("b"))),
    scheduler.enqueue(request(pathOf("c"), { priority: "batch" })),
    scheduler.enqueue(request(pathOf("b"))),
  ];
  const predicted = queued.map((ticket) => scheduler.getPosition(ticket));
  assert.deepEqual([...predicted].sort(), [1, 2, 3, 4, 5]);
  assert.equal(predicted[2], 1, "b has used nothing yet, so it goes first");
  assert.equal(predicted[3], 5, "batch comes last");
  const actual: Ticket[] = [];
  while (actual.length < queued.length) {
    scheduler.release(running);
    running = queued.find((ticket) => ticket.state === "admitted")!;
    actual.push(running);
  }
  assert.deepEqual(
    actual.map((ticket) => predicted[queued.indexOf(ticket)]),
    [1, 2, 3, 4, 5],
  );
  assert.equal(scheduler.getPosition(running), undefined);
});

test("snapshot reports depth per key and the share each key is entitled to", () => {
  const scheduler = new FairScheduler({ capacity: 1, clock: new ManualClock() });
  scheduler.enqueue(request(pathOf("a", "t", "k1", [3, 1])));
  scheduler.enqueue(request(pathOf("a", "t", "k1", [3, 1]), { priority: "batch" }));
  scheduler.enqueue(request(pathOf("b")));
  const snapshot = scheduler.snapshot();
  assert.equal(snapshot.running, 1);
  assert.equal(snapshot.queued, 2);
  assert.deepEqual(
    snapshot.tenants.map((t) => [
      t.organizationId,
      t.apiKeyId,
      t.running,
      t.queuedInteractive,
      t.queuedBatch,
    ]),
    [
      ["a", "k1", 1, 0, 1],
      ["b", "key", 0, 1, 0],
    ],
  );
  assert.equal(scheduler.getShare(pathOf("a", "t", "k1", [3, 1])), 0.75);
  assert.equal(
    scheduler.getShare(pathOf("a", "t", "k2", [3, 1])),
    0.375,
    "a second key halves the first's part",
  );
  assert.equal(scheduler.getShare(pathOf("c")), 0.2);
});

test("close rejects waiting requests and refuses new ones", async () => {
  const scheduler = new FairScheduler({ capacity: 1, clock: new ManualClock() });
  scheduler.enqueue(request(pathOf("a")));
  const waiting = scheduler.enqueue(request(pathOf("a")));
  scheduler.close();
  await assert.rejects(waiting.admitted, (error) => isOstromError(error, "shutting_down"));
  assert.throws(
    () => scheduler.enqueue(request(pathOf("a"))),
    (error) => isOstromError(error, "shutting_down"),
  );
});
