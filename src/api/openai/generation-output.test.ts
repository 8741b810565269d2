import assert from "node:assert/strict";
import { test } from "node:test";
import type { GenerationEvent } from "../../engine/engine.ts";
import { stringifyJson } from "../../util/serialized-json.ts";
import { toChatChunks, toCompletionChunks } from "./generation-output.ts";
import { toChatChunk, toCompletion, toUsageChunk } from "./responses.ts";

const texts = ["", "Hello", ' "quoted" \\', "line\nbreak\r\n", "é 中文 🙂 \u2028", "\u0000\u001f", "\ud800"];
const head = { id: "chatcmpl-abc", created: 1_700_000_000, model: 'odd "model"\nname' };
const usage = { promptTokens: 3, completionTokens: texts.length };

async function* generate(): AsyncGenerator<GenerationEvent> {
  for (const text of texts) yield { type: "text", text };
  yield { type: "done", finishReason: "stop", usage, toolCalls: [] };
}

async function collectJson(chunks: AsyncIterable<unknown>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(stringifyJson(chunk));
  return out;
}

test("streamed chat chunks serialise exactly as the object form, odd text included", async () => {
  const expected = [
    toChatChunk(head, { role: "assistant", content: texts[0] }, null),
    ...texts.slice(1).map((content) => toChatChunk(head, { content }, null)),
    toChatChunk(head, {}, "stop"),
    toUsageChunk(head, "chat.completion.chunk", usage),
  ].map((chunk) => JSON.stringify(chunk));
  assert.deepEqual(await collectJson(toChatChunks(head, generate(), true)), expected);
});

test("streamed completion chunks serialise exactly as the object form, odd text included", async () => {
  const expected = [
    ...texts.map((text) => toCompletion(head, text, null)),
    toCompletion(head, "", "stop"),
    toUsageChunk(head, "text_completion", usage),
  ].map((chunk) => JSON.stringify(chunk));
  assert.deepEqual(await collectJson(toCompletionChunks(head, generate(), true)), expected);
});
