import assert from "node:assert/strict";
import { test } from "node:test";
import { Cancellation, toAbortSignal } from "./cancel-signal.ts";

test("abort calls each listener once, in order, and later aborts do nothing", () => {
  const cancellation = new Cancellation();
  const calls: string[] = [];
  cancellation.addEventListener("abort", () => calls.push("first"), { once: true });
  cancellation.addEventListener("abort", () => calls.push("second"));
  assert.equal(cancellation.aborted, false);
  cancellation.abort();
  cancellation.abort();
  assert.equal(cancellation.aborted, true);
  assert.deepEqual(calls, ["first", "second"]);
});

test("a removed listener is not called, nor one added after the abort", () => {
  const cancellation = new Cancellation();
  const calls: string[] = [];
  const removed = () => calls.push("removed");
  cancellation.addEventListener("abort", removed);
  cancellation.addEventListener("abort", () => calls.push("kept"));
  cancellation.removeEventListener("abort", removed);
  cancellation.removeEventListener("abort", () => {}); // never added: nothing happens
  cancellation.abort();
  cancellation.addEventListener("abort", () => calls.push("late"));
  assert.deepEqual(calls, ["kept"]);
});

test("toAbortSignal follows a Cancellation, and passes an AbortSignal through", () => {
  const cancellation = new Cancellation();
  const signal = toAbortSignal(cancellation);
  assert.equal(signal.aborted, false);
  cancellation.abort();
  assert.equal(signal.aborted, true);

  const done = new Cancellation();
  done.abort();
  assert.equal(toAbortSignal(done).aborted, true, "already aborted");

  const real = new AbortController().signal;
  assert.equal(toAbortSignal(real), real);
});
