import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SseDecoder, SseEventTooLargeError } from "./sse-decoder.ts";

const encode = (text: string) => new TextEncoder().encode(text);

function decodeAll(pieces: readonly string[]): string[] {
  const decoder = new SseDecoder();
  return [...pieces.flatMap((piece) => decoder.push(encode(piece))), ...decoder.end()];
}

test("data lines of one event are joined; comments and other fields are ignored", () => {
  assert.deepEqual(decodeAll([": hello\nevent: x\nid: 1\nretry: 5\ndata: a\ndata:b\ndata\n\n"]), ["a\nb\n"]);
});

test("LF, CRLF and CR end lines, also when CR and LF arrive in different chunks", () => {
  assert.deepEqual(decodeAll(["data: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4\r", "\n\r", "\n"]), [
    "1",
    "2",
    "3",
    "4",
  ]);
});

test("a blank line without data dispatches nothing", () => {
  assert.deepEqual(decodeAll(["\n\n: only a comment\n\n"]), []);
});

test("a last event without its blank line is still returned at the end", () => {
  assert.deepEqual(decodeAll(["data: [DONE]"]), ["[DONE]"]);
  assert.deepEqual(decodeAll(["data: x\n"]), ["x"]);
});

test("a multi-byte character split across chunks is decoded whole", () => {
  const bytes = encode("data: 🙂é\n\n");
  for (let split = 0; split <= bytes.length; split++) {
    const decoder = new SseDecoder();
    const events = [...decoder.push(bytes.subarray(0, split)), ...decoder.push(bytes.subarray(split))];
    assert.deepEqual(events, ["🙂é"], `split at ${split}`);
  }
});

test("an event longer than the limit throws instead of growing without end", () => {
  const decoder = new SseDecoder({ maxEventChars: 16 });
  assert.deepEqual(decoder.push(encode("data: short\n\n")), ["short"]);
  assert.throws(
    () => decoder.push(encode(`data: ${"x".repeat(10)}\ndata: ${"y".repeat(10)}`)),
    SseEventTooLargeError,
  );
});

test("any stream, cut anywhere, with any line endings, gives back its events' data", () => {
  const value = fc.string({ unit: fc.constantFrom("a", "é", "🙂", ":", " ", "{", '"', "\t"), maxLength: 12 });
  const line = fc.oneof(
    value.map((text) => ({ data: text, text: `data: ${text}` })),
    value.filter((text) => !text.startsWith(" ")).map((text) => ({ data: text, text: `data:${text}` })),
    value.map((text) => ({ data: undefined, text: `:${text}` })),
    value.map((text) => ({ data: undefined, text: `event: ${text}` })),
  );
  const ending = fc.constantFrom("\n", "\r\n", "\r");
  const stream = fc.array(fc.array(fc.tuple(line, ending), { maxLength: 4 }), { maxLength: 6 });
  fc.assert(
    fc.property(stream, ending, fc.array(fc.nat(), { maxLength: 8 }), (events, blank, cuts) => {
      let text = "";
      // CR then LF would be one line end: a blank line after a CR is written as CRLF.
      for (const lines of events)
        for (const piece of [...lines.flatMap(([{ text: lineText }, end]) => [lineText, end]), blank])
          text += text.endsWith("\r") && piece.startsWith("\n") ? `\r${piece}` : piece;
      const expected = events.flatMap((lines) => {
        const data = lines.flatMap(([{ data }]) => (data === undefined ? [] : [data]));
        return data.length === 0 ? [] : [data.join("\n")];
      });
      const bytes = new TextEncoder().encode(text);
      const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
      const decoder = new SseDecoder();
      const got: string[] = [];
      let from = 0;
      for (const point of [...points, bytes.length]) {
        got.push(...decoder.push(bytes.subarray(from, point)));
        from = point;
      }
      got.push(...decoder.end());
      assert.deepEqual(got, expected);
    }),
    { numRuns: 500 },
  );
});
