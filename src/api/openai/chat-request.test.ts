import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../../errors.ts";
import { parseChatRequest } from "./chat-request.ts";
import { parseCompletionRequest } from "./completion-request.ts";
import { parseEmbeddingRequest } from "./embedding-request.ts";

const limits = { maxOutputTokens: 100 };

function rejectsWithParam(run: () => unknown, param: string): void {
  assert.throws(run, (error: unknown) => isOstromError(error, "invalid_parameter") && error.param === param);
}

test("a chat request becomes internal messages, sampling and defaults", () => {
  const parsed = parseChatRequest(
    {
      model: "m",
      messages: [
        { role: "developer", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        },
      ],
      max_completion_tokens: 7,
      stop: "END",
      temperature: 0,
      logit_bias: { "5": -100 },
    },
    limits,
  );
  assert.equal(parsed.stream, false);
  assert.deepEqual(
    parsed.request.messages.map((message) => [message.role, message.content]),
    [
      ["system", "be brief"],
      ["user", "ab"],
    ],
  );
  assert.equal(parsed.request.sampling.maxTokens, 7);
  assert.deepEqual(parsed.request.sampling.stop, ["END"]);
  assert.deepEqual(parsed.request.sampling.logitBias, { 5: -100 });
  assert.deepEqual(parsed.request.toolChoice, { type: "none" });
  assert.deepEqual(parsed.request.responseFormat, { type: "text" });
});

test("tools default to auto; a named tool_choice must exist", () => {
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
  const parsed = parseChatRequest({ model: "m", messages: [{ role: "user", content: "x" }], tools }, limits);
  assert.deepEqual(parsed.request.toolChoice, { type: "auto" });
  rejectsWithParam(
    () =>
      parseChatRequest(
        {
          model: "m",
          messages: [{ role: "user", content: "x" }],
          tools,
          tool_choice: { type: "function", function: { name: "g" } },
        },
        limits,
      ),
    "tool_choice",
  );
});

test("bad parameters name themselves", () => {
  const base = { model: "m", messages: [{ role: "user", content: "x" }] };
  rejectsWithParam(() => parseChatRequest({ ...base, max_tokens: 101 }, limits), "max_tokens");
  rejectsWithParam(
    () => parseChatRequest({ ...base, max_completion_tokens: 101 }, limits),
    "max_completion_tokens",
  );
  rejectsWithParam(() => parseChatRequest({ ...base, top_p: 2 }, limits), "top_p");
  rejectsWithParam(() => parseChatRequest({ ...base, logit_bias: { x: 1 } }, limits), "logit_bias.x");
  rejectsWithParam(
    () =>
      parseChatRequest({ ...base, messages: [{ role: "user", content: [{ type: "image_url" }] }] }, limits),
    "messages[0].content[0].type",
  );
  rejectsWithParam(
    () =>
      parseChatRequest(
        { ...base, response_format: { type: "json_schema", json_schema: { name: "n" } } },
        limits,
      ),
    "response_format.json_schema.schema",
  );
  rejectsWithParam(() => parseChatRequest({ ...base, logprobs: true }, limits), "logprobs");
});

test("completions default to OpenAI's 16 tokens and refuse unsupported options", () => {
  const parsed = parseCompletionRequest({ model: "m", prompt: ["only"] }, limits);
  assert.equal(parsed.request.prompt, "only");
  assert.equal(parsed.request.sampling.maxTokens, 16);
  rejectsWithParam(() => parseCompletionRequest({ model: "m", prompt: "x", echo: true }, limits), "echo");
  rejectsWithParam(() => parseCompletionRequest({ model: "m", prompt: ["a", "b"] }, limits), "prompt");
});

test("embedding inputs: a string or a non-empty list of non-empty strings", () => {
  assert.deepEqual(parseEmbeddingRequest({ model: "m", input: "a" }).inputs, ["a"]);
  rejectsWithParam(() => parseEmbeddingRequest({ model: "m", input: [] }), "input");
  rejectsWithParam(() => parseEmbeddingRequest({ model: "m", input: ["a", ""] }), "input");
  rejectsWithParam(() => parseEmbeddingRequest({ model: "m", input: "a", dimensions: 8 }), "dimensions");
});

test("the knowledge extension field is parsed and validated, naming the parameter", () => {
  const messages = [{ role: "user", content: "hi" }];
  const parsed = parseChatRequest(
    { model: "m", messages, knowledge: { bases: ["handbook", "wiki"], top_k: 3 } },
    limits,
  );
  assert.deepEqual(parsed.knowledge, { bases: ["handbook", "wiki"], topK: 3 });
  assert.equal(parseChatRequest({ model: "m", messages }, limits).knowledge, undefined);
  rejectsWithParam(
    () => parseChatRequest({ model: "m", messages, knowledge: { bases: [] } }, limits),
    "knowledge.bases",
  );
  rejectsWithParam(
    () => parseChatRequest({ model: "m", messages, knowledge: { bases: ["a"], top_k: 99 } }, limits),
    "knowledge.top_k",
  );
  rejectsWithParam(
    () => parseChatRequest({ model: "m", messages, knowledge: { bases: ["a"], topk: 3 } }, limits),
    "knowledge",
  );
  rejectsWithParam(
    () => parseChatRequest({ model: "m", messages, knowledge: "handbook" }, limits),
    "knowledge",
  );
});
