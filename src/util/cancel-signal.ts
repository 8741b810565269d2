// Cancellation without an AbortSignal. In Node 20 every AbortSignal outlives the young-generation
// collections (Node's `createAbortSignal` stores a property after changing the new object's prototype,
// and objects made that way are promoted), so one per request is ~0.7 KiB of garbage for the full
// collector (docs/benchmarks.md, "Ninth round"). The scheduler, the quota ledger, the dispatcher and the
// engines therefore take a `CancelSignal`: the part of AbortSignal they use, which an AbortSignal
// satisfies as it is. `Cancellation` is the cheap one to make; `toAbortSignal` makes a real signal for
// the APIs that need one (`fetch`, node:http, node-llama-cpp). Must not depend on anything else.

/** What a request's cancellation offers: an AbortSignal fits, and so does a `Cancellation`. */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export class Cancellation implements CancelSignal {
  #aborted = false;
  #listeners: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Marks it aborted and calls each listener once, in the order they were added. Later calls do nothing. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const listeners = this.#listeners ?? [];
    this.#listeners = undefined;
    for (const listener of listeners) listener();
  }

  /** As AbortSignal's: a listener added after the abort is never called; every listener runs once. */
  addEventListener(_type: "abort", listener: () => void, _options?: { once?: boolean }): void {
    if (this.#aborted) return;
    this.#listeners ??= [];
    this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const index = this.#listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.#listeners?.splice(index, 1);
  }
}

/** A real AbortSignal that follows `signal` (the same object if it is one already). */
export function toAbortSignal(signal: CancelSignal): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort();
  else signal.addEventListener("abort", () => controller.abort(), { once: true });
  return controller.signal;
}
