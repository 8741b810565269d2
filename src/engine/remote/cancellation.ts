// A remote call's cancellation without an AbortSignal. In Node 20 every AbortSignal outlives the
// young-generation collections (Node's `createAbortSignal` stores a property after changing the new
// object's prototype, and objects made that way are promoted), so one per proxied request was ~0.7 KiB
// of garbage per request for the full collector (docs/benchmarks.md, "Ninth round"). This class has
// the part of AbortSignal's surface that the transports use; `toAbortSignal` makes a real signal for
// the APIs that need one (`fetch`, node:http). Must not depend on anything else in the project.
import type { UpstreamAbort } from "./upstream-transport.ts";

export class Cancellation implements UpstreamAbort {
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
