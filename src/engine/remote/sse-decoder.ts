// Decodes a Server-Sent Events byte stream into the data payloads of its events, as an upstream
// OpenAI-compatible server sends them. Bytes may be split anywhere (inside a UTF-8 character, between
// CR and LF); lines may end in LF, CRLF or CR; comment lines (`:`) and fields other than `data` are
// ignored; the data lines of one event are joined with "\n" as the SSE specification says.
// Pure: no I/O, no knowledge of OpenAI's JSON. Must not depend on anything else in the project.

export interface SseDecoderOptions {
  /** Longest event (all its data lines) accepted, in characters; longer throws. Default 16 MiB. */
  maxEventChars?: number;
}

/** An event longer than the limit: a misbehaving upstream, not something to buffer without end. */
export class SseEventTooLargeError extends Error {
  constructor(limit: number) {
    super(`An event in the upstream's stream is longer than ${limit} characters.`);
    this.name = "SseEventTooLargeError";
  }
}

export class SseDecoder {
  readonly #maxEventChars: number;
  readonly #text = new TextDecoder("utf-8");
  /** Text of the current, unfinished line. */
  #line = "";
  /** The previous chunk ended in CR: a LF at the start of the next one belongs to that line end. */
  #afterCarriageReturn = false;
  /** The data lines of the current event so far, joined with "\n"; undefined before its first. */
  #data: string | undefined;

  constructor(options: SseDecoderOptions = {}) {
    this.#maxEventChars = options.maxEventChars ?? 16 * 1024 * 1024;
  }

  /** Takes the next bytes and returns the data of every event they complete, in order. */
  push(bytes: Uint8Array): string[] {
    return this.#pushText(this.#text.decode(bytes, { stream: true }));
  }

  /**
   * Ends the stream and returns the data of an event left open by it. The specification drops such an
   * event; Ostrom keeps it because some servers close the connection right after their last `data:`
   * line without the blank line, and the caller validates what it gets anyway.
   */
  end(): string[] {
    const events = this.#pushText(this.#text.decode());
    const line = this.#line;
    this.#line = "";
    if (line !== "") this.#takeLine(line, 0, line.length, events);
    if (this.#data !== undefined) events.push(this.#data);
    this.#data = undefined;
    return events;
  }

  // Lines are found with `indexOf` and each data value is sliced once from the decoded text: this runs
  // for every event of every proxied answer (docs/benchmarks.md, "Gateway overhead").
  #pushText(text: string): string[] {
    const events: string[] = [];
    let start = 0;
    if (this.#afterCarriageReturn && text.charCodeAt(0) === 10) start = 1;
    this.#afterCarriageReturn = false;
    // Most servers end lines with LF alone; CR needs the slower scan.
    const lineFeedsOnly = text.indexOf("\r", start) < 0;
    for (;;) {
      const end = lineFeedsOnly ? text.indexOf("\n", start) : findLineEnd(text, start);
      if (end < 0) break;
      this.#checkSize(end - start);
      if (this.#line === "") this.#takeLine(text, start, end, events);
      else {
        const line = this.#line + text.slice(start, end);
        this.#line = "";
        this.#takeLine(line, 0, line.length, events);
      }
      start = end + 1;
      if (text.charCodeAt(end) === 13) {
        if (start === text.length) this.#afterCarriageReturn = true;
        else if (text.charCodeAt(start) === 10) start += 1;
      }
    }
    if (start < text.length) {
      this.#checkSize(text.length - start);
      this.#line += text.slice(start);
    }
    return events;
  }

  /** Throws if `chars` more would make the current event longer than the limit. */
  #checkSize(chars: number): void {
    if (this.#line.length + chars + (this.#data?.length ?? 0) > this.#maxEventChars)
      throw new SseEventTooLargeError(this.#maxEventChars);
  }

  /** The line `text[start, end)`, its line end excluded. */
  #takeLine(text: string, start: number, end: number, events: string[]): void {
    if (start === end) {
      if (this.#data !== undefined) events.push(this.#data);
      this.#data = undefined;
      return;
    }
    let colon = text.indexOf(":", start);
    if (colon < 0 || colon > end) colon = end;
    // Comments (`:` first) and fields other than `data` are ignored.
    if (colon - start !== 4 || !text.startsWith("data", start)) return;
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === 32) valueStart += 1;
    const value = valueStart >= end ? "" : text.slice(valueStart, end);
    this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
  }
}

/** The index of the next CR or LF from `start`, or -1. */
function findLineEnd(text: string, start: number): number {
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 10 || code === 13) return index;
  }
  return -1;
}
