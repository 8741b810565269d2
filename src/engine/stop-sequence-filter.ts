// Stops generated text where the first stop sequence completes, matching the text exactly as a
// client sees it (across token boundaries). Text that might be the start of a stop sequence is held
// back until it is known not to be one. Pure: the engine feeds it chunks and ends generation on `stopped`.

export class StopSequenceFilter {
  readonly #stops: readonly string[];
  #held = "";
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop !== "");
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Adds generated text; returns the part that is safe to send now. */
  push(text: string): string {
    if (this.#stopped) return "";
    const buffer = this.#held + text;
    // Generation ends where the first stop sequence is complete; among stops completing at the same
    // point the longest (earliest starting) is cut. This makes the result independent of chunking.
    let stopAt = -1;
    let stopEnd = Number.POSITIVE_INFINITY;
    for (const stop of this.#stops) {
      const index = buffer.indexOf(stop);
      if (index < 0) continue;
      const end = index + stop.length;
      if (end < stopEnd || (end === stopEnd && index < stopAt)) {
        stopAt = index;
        stopEnd = end;
      }
    }
    if (stopAt >= 0) {
      this.#stopped = true;
      this.#held = "";
      return buffer.slice(0, stopAt);
    }
    const keep = this.#longestStopPrefixAtEnd(buffer);
    this.#held = buffer.slice(buffer.length - keep);
    return buffer.slice(0, buffer.length - keep);
  }

  /** Generation ended without a stop: whatever was held back is plain text after all. */
  flush(): string {
    const rest = this.#stopped ? "" : this.#held;
    this.#held = "";
    return rest;
  }

  #longestStopPrefixAtEnd(buffer: string): number {
    let longest = 0;
    for (const stop of this.#stops) {
      for (let length = Math.min(stop.length - 1, buffer.length); length > longest; length--) {
        if (buffer.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
