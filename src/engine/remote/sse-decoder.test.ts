import assert from "node:assert/strict";
import { test } from "node:test";
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
