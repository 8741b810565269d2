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
  #data: string[] = [];
  #dataChars = 0;

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
    if (this.#line !== "") this.#endLine(events);
    if (this.#data.length > 0) events.push(this.#data.join("\n"));
    this.#line = "";
    this.#data = [];
    this.#dataChars = 0;
    return events;
  }

  #pushText(text: string): string[] {
    const events: string[] = [];
    let start = 0;
    if (this.#afterCarriageReturn && text.startsWith("\n")) start = 1;
    this.#afterCarriageReturn = false;
    for (let index = start; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code !== 10 && code !== 13) continue;
      this.#appendToLine(text.slice(start, index));
      this.#endLine(events);
      if (code === 13) {
        if (index + 1 === text.length) this.#afterCarriageReturn = true;
        else if (text.charCodeAt(index + 1) === 10) index++;
      }
      start = index + 1;
    }
    this.#appendToLine(text.slice(start));
    return events;
  }

  #appendToLine(text: string): void {
    if (text === "") return;
    if (this.#line.length + text.length + this.#dataChars > this.#maxEventChars)
      throw new SseEventTooLargeError(this.#maxEventChars);
    this.#line += text;
  }

  #endLine(events: string[]): void {
    const line = this.#line;
    this.#line = "";
    if (line === "") {
      if (this.#data.length > 0) events.push(this.#data.join("\n"));
      this.#data = [];
      this.#dataChars = 0;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.#data.push(value);
    this.#dataChars += value.length + 1;
  }
}
