// A bounded FIFO of requests waiting for one of a fixed number of slots (a model's sequences).
// The fair scheduler will replace the FIFO order; the bounds and cancellation stay.
import { OstromError } from "../../errors.ts";
import type { CancelSignal } from "../../util/cancel-signal.ts";

export interface SlotQueueOptions {
  slots: number;
  /** Waiters beyond this are refused with `too_many_requests`. */
  maxWaiting: number;
  /** Seconds suggested to refused clients in `Retry-After`. Default 1. */
  retryAfterSeconds?: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
}

export class SlotQueue {
  readonly #options: SlotQueueOptions;
  readonly #waiters: Waiter[] = [];
  #busy = 0;

  constructor(options: SlotQueueOptions) {
    this.#options = options;
  }

  get busy(): number {
    return this.#busy;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function once a slot is free; rejects if the queue is full or `signal` aborts. */
  acquire(signal: CancelSignal): Promise<() => void> {
    if (signal.aborted)
      return Promise.reject(new OstromError("request_cancelled", "The request was cancelled."));
    if (this.#busy < this.#options.slots && this.#waiters.length === 0) {
      this.#busy += 1;
      return Promise.resolve(this.#createRelease());
    }
    if (this.#waiters.length >= this.#options.maxWaiting) {
      return Promise.reject(
        new OstromError(
          "too_many_requests",
          `All ${this.#options.slots} slots of this model are busy and ${this.#waiters.length} requests are waiting.`,
          { retryAfterSeconds: this.#options.retryAfterSeconds ?? 1 },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (release) => {
          signal.removeEventListener("abort", onAbort);
          resolve(release);
        },
        reject,
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new OstromError("request_cancelled", "The request was cancelled while waiting for a slot."));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Rejects every waiter, e.g. when the model behind the slots is gone. */
  rejectAll(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #createRelease(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.resolve(this.#createRelease());
      else this.#busy -= 1;
    };
  }
}
