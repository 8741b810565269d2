// Control over node-llama-cpp's decode loop between two steps, for two things it gets wrong when
// several sequences of one context generate together (node-llama-cpp 3.22.1; measured with
// bench/probe-batch-occupancy.ts and the tests in fair-batching.test.ts, see docs/benchmarks.md):
//
// 1. Full steps. `LlamaContext.dispatchPendingBatch` loops "decode the queued tokens, deliver the
//    results, look at the queue again". Each sequence samples its token on the libuv pool, and the one
//    whose sample finishes last is handed its token in the same microtask run in which the loop looks
//    at the queue again; the loop gets there first, so that sequence's next token waits a step: N busy
//    sequences are decoded N − 1 per step (2 sequences: no batching at all).
// 2. Newcomers. The loop holds the context lock from its first step until the queue is empty, and
//    erasing a sequence's old tokens (what a new request on a used sequence must do first) takes that
//    lock: while others generate, the queue is never empty, so the newcomer waited until every running
//    request had finished (135M shape, two others generating 150 tokens: first token after 3.65 s,
//    48 ms when let in).
//
// The one place the loop waits for something outside itself between steps is a queued decode's
// `afterBatchAction`: after delivering a step's results it awaits each such action's promise before it
// looks at the queue again. `holdAfterStep` gives one decode of each step an action that waits for the
// next turn of the event loop (`setImmediate`), by when every sequence that was handed a token has
// queued its next one (1). If a caller of `withContextLock` is waiting then, the action also takes the
// queued decodes out of the loop's queue, so the loop ends and releases the lock; the waiter (queued on
// the lock before the loop's next dispatch) runs, and one more turn later the decodes go back and a
// dispatch is scheduled, which queues behind the waiter on the lock (2). Cost: one event-loop turn per
// step (microseconds), and one more when a newcomer is let in.
//
// This relies on node-llama-cpp internals: the private `_queuedDecodes` array, its decodes'
// `afterBatchAction` field (called as `queuedDecode.afterBatchAction?.(length)`, awaited when it returns
// a promise) and `_scheduleDecode()`. If a release changes them, holding or yielding does nothing and
// behaviour falls back to node-llama-cpp's own; the tests in fair-batching.test.ts count sequences per
// step and time a newcomer, and would say so.

/** The part of node-llama-cpp's private queued decode that the hold writes. */
export interface HoldableDecode {
  afterBatchAction?: unknown;
}

export class DecodeLoopControl {
  readonly #held = new WeakSet<object>();
  #context: object | undefined;
  /** Callers of `withContextLock` waiting for the loop to let go of the context lock. */
  #lockWaiters = 0;

  /** The node-llama-cpp `LlamaContext` whose loop this controls. */
  attach(context: object): void {
    this.#context = context;
  }

  /**
   * Makes the decode loop wait one event-loop turn after the step that contains `decode` (and end, if
   * a `withContextLock` caller waits). Wraps the decode's own action, keeping its `this` and result;
   * a decode that stays queued across steps (a long prompt) is wrapped once.
   */
  holdAfterStep(decode: HoldableDecode): void {
    if (this.#held.has(decode)) return;
    const ownAction = decode.afterBatchAction;
    if (ownAction !== undefined && ownAction !== null && typeof ownAction !== "function") return;
    this.#held.add(decode);
    const afterStep = () => this.#afterStep();
    decode.afterBatchAction = function (this: unknown, ...args: unknown[]) {
      const result: unknown = typeof ownAction === "function" ? ownAction.apply(this, args) : undefined;
      return Promise.resolve(result).then(afterStep);
    };
  }

  /**
   * Runs `use`, which takes node-llama-cpp's context lock (e.g. `sequence.clearHistory()`), and lets
   * it in at the end of the current decode step instead of after every running request has finished.
   */
  async withContextLock<T>(use: () => Promise<T>): Promise<T> {
    this.#lockWaiters += 1;
    try {
      return await use();
    } finally {
      this.#lockWaiters -= 1;
    }
  }

  async #afterStep(): Promise<void> {
    await nextEventLoopTurn();
    if (this.#lockWaiters > 0) this.#yieldContextLock();
  }

  /** Empties the loop's queue so that it ends now; puts the decodes back one turn later. */
  #yieldContextLock(): void {
    const context = this.#context;
    const queued: unknown = context && Reflect.get(context, "_queuedDecodes");
    const scheduleDecode: unknown = context && Reflect.get(context, "_scheduleDecode");
    if (!Array.isArray(queued) || typeof scheduleDecode !== "function" || queued.length === 0) return;
    const taken: unknown[] = queued.splice(0, queued.length);
    setImmediate(() => {
      // Decodes queued while these were out came later: these go first, in their order.
      queued.unshift(...taken);
      scheduleDecode.call(context);
    });
  }
}

function nextEventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
