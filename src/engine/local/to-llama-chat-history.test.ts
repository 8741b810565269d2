import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../../errors.ts";
import { toLlamaChatHistory } from "./to-llama-chat-history.ts";

test("tool results join the call they answer, and an empty model turn is opened", () => {
  const history = toLlamaChatHistory([
    { role: "system", content: "s" },
    { role: "user", content: "weather?" },
    { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "get", arguments: '{"city":"Oslo"}' }] },
    { role: "tool", toolCallId: "c1", content: "rain" },
  ]);
  assert.deepEqual(history, [
    { type: "system", text: "s" },
    { type: "user", text: "weather?" },
    {
      type: "model",
      response: [{ type: "functionCall", name: "get", params: { city: "Oslo" }, result: "rain" }],
    },
    { type: "model", response: [] },
  ]);
});

test("a tool message without its call, or bad arguments, is a parameter error", () => {
  assert.throws(
    () => toLlamaChatHistory([{ role: "tool", toolCallId: "x", content: "r" }]),
    (error: unknown) =>
      isOstromError(error, "invalid_parameter") && error.param === "messages[0].tool_call_id",
  );
  assert.throws(
    () =>
      toLlamaChatHistory([
        { role: "assistant", content: "", toolCalls: [{ id: "a", name: "f", arguments: "{" }] },
      ]),
    (error: unknown) => isOstromError(error, "invalid_parameter"),
  );
});
