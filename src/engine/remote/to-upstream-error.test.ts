import assert from "node:assert/strict";
import { test } from "node:test";
import { toUpstreamError } from "./to-upstream-error.ts";

const context = { backend: "gpu1", model: "m" };

test("each server's error shape gives its message and param", () => {
  const openai = toUpstreamError(
    400,
    JSON.stringify({
      error: { message: "bad top_p", type: "invalid_request_error", param: "top_p", code: null },
    }),
    context,
  );
  assert.equal(openai.code, "invalid_parameter");
  assert.equal(openai.message, "bad top_p");
  assert.equal(openai.param, "top_p");

  const ollama = toUpstreamError(400, JSON.stringify({ error: "invalid stop" }), context);
  assert.equal(ollama.message, "invalid stop");
  const fastapi = toUpstreamError(422, JSON.stringify({ detail: [{ msg: "field required" }] }), context);
  assert.equal(fastapi.code, "invalid_parameter");
  assert.equal(fastapi.message, "field required");
  const plain = toUpstreamError(400, "Bad Request", context);
  assert.equal(plain.message, "Bad Request");
  const empty = toUpstreamError(400, "", context);
  assert.match(empty.message, /"gpu1" refused the request with HTTP 400/);
});

test("context overflow is recognised by code, llama.cpp's type, or wording", () => {
  const byCode = { error: { message: "too long", code: "context_length_exceeded" } };
  const llamaCpp = {
    error: {
      code: 400,
      message: "request (9000 tokens) exceeds the available context size (4096 tokens)",
      type: "exceed_context_size_error",
    },
  };
  const vllm = {
    object: "error",
    message: "This model's maximum context length is 2048 tokens.",
    type: "BadRequestError",
    code: 400,
  };
  for (const body of [byCode, llamaCpp, vllm]) {
    assert.equal(toUpstreamError(400, JSON.stringify(body), context).code, "context_length_exceeded");
  }
});

test("backend trouble is backend_unavailable; Retry-After in seconds or as a date is kept", () => {
  for (const status of [500, 502, 503, 504, 408, 429, 401, 403]) {
    assert.equal(toUpstreamError(status, "", context).code, "backend_unavailable", String(status));
  }
  assert.equal(toUpstreamError(503, "", { ...context, retryAfter: "3" }).retryAfterSeconds, 3);
  const later = new Date(Date.now() + 60_000).toUTCString();
  const fromDate = toUpstreamError(429, "", { ...context, retryAfter: later }).retryAfterSeconds ?? 0;
  assert.ok(fromDate > 50 && fromDate <= 60, String(fromDate));
  assert.equal(toUpstreamError(503, "", { ...context, retryAfter: "soon" }).retryAfterSeconds, undefined);
});

test("404 is model_not_found, 413 request_too_large; long messages are cut", () => {
  assert.equal(toUpstreamError(404, "", context).code, "model_not_found");
  assert.equal(toUpstreamError(413, "", context).code, "request_too_large");
  const long = toUpstreamError(400, JSON.stringify({ error: { message: "x".repeat(5000) } }), context);
  assert.ok(long.message.length <= 1001);
});
