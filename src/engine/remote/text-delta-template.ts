// Reads the text of an upstream's stream chunks without parsing them, when a chunk is the one before it
// with another text. An OpenAI-compatible server sends one chunk per token, and those chunks differ only
// in the token's text: `{"id":"…","object":"chat.completion.chunk",…,"choices":[{"index":0,"delta":
// {"content":"<text>"},"finish_reason":null}]}`. Parsing each costs ~1 µs, most of a streamed request's
// own work in the gateway (docs/benchmarks.md, "Gateway overhead"); comparing it with the last parsed
// one costs a fraction of that.
//
// Exact, not a heuristic: a chunk matches only if it is the learned chunk's text up to its text string,
// then characters that need no escaping in JSON (no `"`, `\` or control character), then the learned
// chunk's text after that string. Such a chunk is the same JSON with one string value replaced, so
// JSON.parse would give the learned chunk with that text, which is what `match` returns. Only chunks
// whose sole effect is their text are learned (one choice, no finish reason, no usage, no tool calls),
// and only if they hold no backslash, so that the key found in the raw text is the key that was parsed.
// Pure; knows the OpenAI chunk shape and nothing else.

export class TextDeltaTemplate {
  /** The learned chunk up to and including the opening quote of its text; undefined before learning. */
  #prefix: string | undefined;
  /** The learned chunk from the closing quote of its text to its end. */
  #suffix = "";

  /** The text of `data` if it is the learned chunk with another text, else undefined (parse it). */
  match(data: string): string | undefined {
    const prefix = this.#prefix;
    if (prefix === undefined) return undefined;
    const end = data.length - this.#suffix.length;
    // Slices compared with `===` (a flat compare) are ~2× faster than startsWith/endsWith here.
    if (end < prefix.length || data.slice(0, prefix.length) !== prefix) return undefined;
    if (data.slice(end) !== this.#suffix) return undefined;
    for (let index = prefix.length; index < end; index++) {
      const code = data.charCodeAt(index);
      if (code === 0x22 || code === 0x5c || code < 0x20) return undefined;
    }
    return data.slice(prefix.length, end);
  }

  /**
   * Learns `data`, already parsed into `chunk` and accepted, if its only effect is its text; otherwise
   * keeps what it had (a stream's role, finish and usage chunks do not replace its token chunks').
   */
  learn(data: string, chunk: unknown): void {
    const found = findPlainText(chunk);
    if (found === undefined || data.includes("\\")) return;
    const key = `"${found.key}":"`;
    const at = data.indexOf(key);
    if (at < 0 || data.indexOf(`"${found.key}"`, at + 1) >= 0) return;
    const start = at + key.length;
    const end = start + found.text.length;
    if (data.charCodeAt(end) !== 0x22 || data.slice(start, end) !== found.text) return;
    this.#prefix = data.slice(0, start);
    this.#suffix = data.slice(end);
  }
}

/** The key and value of a chunk's text when its text is all it carries, else undefined. */
function findPlainText(chunk: unknown): { key: "content" | "text"; text: string } | undefined {
  if (!isRecord(chunk) || (chunk.usage !== undefined && chunk.usage !== null)) return undefined;
  if (!Array.isArray(chunk.choices) || chunk.choices.length !== 1) return undefined;
  const choice: unknown = chunk.choices[0];
  if (!isRecord(choice) || (choice.index ?? 0) !== 0) return undefined;
  if (choice.finish_reason !== undefined && choice.finish_reason !== null) return undefined;
  const delta = choice.delta;
  if (choice.text === undefined && isRecord(delta) && typeof delta.content === "string") {
    return delta.tool_calls === undefined ? { key: "content", text: delta.content } : undefined;
  }
  if (typeof choice.text === "string" && delta === undefined) return { key: "text", text: choice.text };
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
