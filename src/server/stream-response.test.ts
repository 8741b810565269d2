import assert from "node:assert/strict";
import { test } from "node:test";
import { OstromError } from "../errors.ts";
import { silentLogger } from "../util/logger.ts";
import { createNdjsonResponse, createSseResponse } from "./stream-response.ts";

const decoder = new TextDecoder();

/** The body's chunks as the HTTP layer would write them, one string per chunk. */
async function readChunks(response: Response): Promise<string[]> {
  const chunks: string[] = [];
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(decoder.decode(value));
  }
}

const sse = (value: object) => `data: ${JSON.stringify(value)}\n\n`;

test("items ready in the same turn go out as one chunk, [DONE] included", async () => {
  async function* events() {
    for (let index = 0; index < 20; index++) yield { index };
  }
  const response = await createSseResponse(events(), silentLogger, { "x-test": "1" });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(response.headers.get("x-test"), "1");
  const chunks = await readChunks(response);
  const expected = `${Array.from({ length: 20 }, (_, index) => sse({ index })).join("")}data: [DONE]\n\n`;
  assert.equal(chunks.join(""), expected);
  assert.equal(chunks.length, 1);
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("an answer whose end comes one setImmediate after its last items (a group commit) is one body", async () => {
  async function* events() {
    for (let index = 0; index < 20; index++) yield { index };
    await nextTurn(); // as the dispatcher waits for the usage log's commit
  }
  const chunks = await readChunks(await createSseResponse(events(), silentLogger));
  const expected = `${Array.from({ length: 20 }, (_, index) => sse({ index })).join("")}data: [DONE]\n\n`;
  assert.deepEqual(chunks, [expected]);
});

test("items ready in a turn wait for at most one more setImmediate callback, then go out", async () => {
  let ended = false;
  async function* events() {
    yield { n: 1 };
    yield { n: 2 };
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    ended = true;
    yield { n: 3 };
  }
  const response = await createSseResponse(events(), silentLogger);
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.equal(decoder.decode(first.value), sse({ n: 1 }) + sse({ n: 2 }));
  assert.equal(ended, false, "sent before the generator went on");
  let rest = "";
  for (let read = await reader.read(); !read.done; read = await reader.read())
    rest += decoder.decode(read.value);
  assert.equal(rest, `${sse({ n: 3 })}data: [DONE]\n\n`);
});

test("what is ready is sent without waiting for an item that is not", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  async function* events() {
    yield { n: 1 };
    yield { n: 2 };
    await gate;
    yield { n: 3 };
  }
  const response = await createSseResponse(events(), silentLogger);
  const reader = response.body!.getReader();
  // The generator is stuck at the gate: the first two items must arrive anyway.
  const first = await reader.read();
  assert.equal(decoder.decode(first.value), sse({ n: 1 }) + sse({ n: 2 }));
  release();
  let rest = "";
  for (let read = await reader.read(); !read.done; read = await reader.read())
    rest += decoder.decode(read.value);
  assert.equal(rest, `${sse({ n: 3 })}data: [DONE]\n\n`);
});

test("an error before the first item keeps its HTTP status; after it, it ends the stream in-band", async () => {
  // biome-ignore lint/correctness/useYield: fails before its first item on purpose
  async function* failsAtOnce(): AsyncGenerator<object> {
    throw new OstromError("queue_full_global", "The queue is full.");
  }
  const refused = await createSseResponse(failsAtOnce(), silentLogger);
  assert.equal(refused.status, 429);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "queue_full_global");

  async function* failsLater() {
    yield { n: 1 };
    throw new OstromError("backend_unavailable", "The backend went away.");
  }
  const broken = await createSseResponse(failsLater(), silentLogger);
  assert.equal(broken.status, 200);
  const body = (await readChunks(broken)).join("");
  assert.ok(body.startsWith(sse({ n: 1 })), body);
  assert.match(body, /"code":"backend_unavailable"/);
  assert.ok(!body.includes("[DONE]"));
});

test("large answers are cut into bounded chunks and nothing is lost; ndjson has no end marker", async () => {
  const line = "x".repeat(1000);
  async function* events() {
    for (let index = 0; index < 200; index++) yield { index, line };
  }
  const chunks = await readChunks(await createNdjsonResponse(events(), silentLogger));
  assert.ok(chunks.length > 1, "more than one chunk");
  assert.ok(chunks.every((chunk) => chunk.length < 64 * 1024 + 2000));
  const lines = chunks.join("").trimEnd().split("\n");
  assert.deepEqual(
    lines.map((text) => (JSON.parse(text) as { index: number }).index),
    Array.from({ length: 200 }, (_, index) => index),
  );
});

test("a client that goes away stops the events at once", async () => {
  let stopped = false;
  async function* events() {
    try {
      for (let index = 0; ; index++) {
        yield { index };
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      stopped = true;
    }
  }
  const response = await createSseResponse(events(), silentLogger);
  const reader = response.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(stopped, true);
});
