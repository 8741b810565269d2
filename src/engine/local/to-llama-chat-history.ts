// Translates Ostrom chat messages into node-llama-cpp's chat history. Pure: no engine state.
// OpenAI-style histories put tool results in separate `tool` messages after the assistant message that
// called them; node-llama-cpp keeps each call and its result together inside the model's response.
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from "node-llama-cpp";
import { invalidParameter } from "../../errors.ts";
import type { ChatMessage } from "../engine.ts";

export function toLlamaChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const pendingCalls = new Map<string, ChatModelFunctionCall>();

  for (const [index, message] of messages.entries()) {
    switch (message.role) {
      case "system":
        history.push({ type: "system", text: message.content });
        break;
      case "user":
        history.push({ type: "user", text: message.content });
        break;
      case "assistant": {
        const response: ChatModelResponse["response"] = [];
        if (message.content !== "") response.push(message.content);
        for (const call of message.toolCalls ?? []) {
          const functionCall: ChatModelFunctionCall = {
            type: "functionCall",
            name: call.name,
            params: parseArguments(call.arguments, index),
            result: undefined,
          };
          pendingCalls.set(call.id, functionCall);
          response.push(functionCall);
        }
        history.push({ type: "model", response });
        break;
      }
      case "tool": {
        const call = message.toolCallId === undefined ? undefined : pendingCalls.get(message.toolCallId);
        if (!call) {
          throw invalidParameter(
            `messages[${index}].tool_call_id`,
            "A tool message must answer a tool call made by an earlier assistant message.",
          );
        }
        call.result = message.content;
        break;
      }
      default:
        message.role satisfies never;
    }
  }

  // generateResponse continues the last model response; open an empty one for the answer.
  const last = history.at(-1);
  if (last?.type !== "model" || last.response.some((item) => typeof item !== "string")) {
    history.push({ type: "model", response: [] });
  }
  return history;
}

function parseArguments(text: string, index: number): unknown {
  try {
    return JSON.parse(text === "" ? "{}" : text);
  } catch {
    throw invalidParameter(`messages[${index}].tool_calls`, "Tool call arguments must be a JSON text.");
  }
}
