// A push-to-pull bridge: producers push values (or an error, or the end) as they come; one consumer
// reads them with `for await`. Used to turn IPC messages into an async iterable of events.

export class AsyncChannel<T> implements AsyncIterable<T> {
  readonly #buffer: T[] = [];
  #closed = false;
  #error: { reason: unknown } | undefined;
  #wake: (() => void) | undefined;
  readonly #onReturn: (() => void) | undefined;

  /** `onReturn` runs when the consumer stops early (break, throw, or return). */
  constructor(onReturn?: () => void) {
    this.#onReturn = onReturn;
  }

  push(value: T): void {
    if (this.#closed) return;
    this.#buffer.push(value);
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
  }

  fail(reason: unknown): void {
    if (this.#closed) return;
    this.#error = { reason };
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let finished = false;
    try {
      for (;;) {
        const value = this.#buffer.shift();
        if (value !== undefined) {
          yield value;
          continue;
        }
        if (this.#closed) {
          finished = true;
          if (this.#error) throw this.#error.reason;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      if (!finished) this.#onReturn?.();
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
