// Keeps every busy sequence of a node-llama-cpp context in every decode step.
//
// What goes wrong without it (node-llama-cpp 3.22.1, measured with bench/probe-batch-occupancy.ts):
// N sequences generating together are decoded N − 1 per step (2 sequences: one per step, no batching
// at all). `LlamaContext.dispatchPendingBatch` loops "decode the queued tokens, deliver the results,
// look at the queue again". Each sequence samples its token on the libuv pool, and the sequence whose
// sample finishes last is handed its token in the same microtask run in which the loop looks at the
// queue again; the loop gets there first, so that sequence's next token waits for the following step.
//
// The one place the loop waits for something outside itself between steps is a queued decode's
// `afterBatchAction`: after delivering a step's results it awaits each such action's promise before
// looking at the queue again. So one decode of each step gets an action that also waits for the next
// turn of the event loop (`setImmediate`): by then every sequence that was handed a token has run the
// code that queues its next one. The cost is one event-loop turn per step (microseconds); the gain is
// that a step holds all N sequences, which is what makes batching pay (docs/benchmarks.md).
//
// Like fair-batching.ts this relies on node-llama-cpp internals: the queued decode objects of the
// private `_queuedDecodes` and their `afterBatchAction` field, which the loop calls as
// `queuedDecode.afterBatchAction?.(sequenceStateLength)` and awaits when it returns a promise. If a
// release drops that field the hold simply does nothing and steps go back to N − 1 (the test in
// fair-batching.test.ts counts the sequences per step and would say so).

/** The part of node-llama-cpp's private queued decode that the hold writes. */
export interface HoldableDecode {
  afterBatchAction?: unknown;
}

const held = new WeakSet<object>();

/**
 * Makes the decode loop wait one event-loop turn after the step that contains `decode`, before it
 * gathers the next step. Wraps the decode's own action (keeping its `this` and result); a decode that
 * stays queued across steps (a long prompt) is wrapped once.
 */
export function holdNextStepForRequeues(decode: HoldableDecode): void {
  if (held.has(decode)) return;
  const ownAction = decode.afterBatchAction;
  if (ownAction !== undefined && ownAction !== null && typeof ownAction !== "function") return;
  held.add(decode);
  decode.afterBatchAction = function (this: unknown, ...args: unknown[]) {
    const result: unknown = typeof ownAction === "function" ? ownAction.apply(this, args) : undefined;
    return Promise.resolve(result).then(nextEventLoopTurn);
  };
}

function nextEventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
