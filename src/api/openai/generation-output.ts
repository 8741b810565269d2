// Turns the engine's generation events into OpenAI output: stream chunks for SSE, or one collected
// result for non-streaming responses. Pure over the event iterable. The text chunks of a stream (all
// but the first, which carries the role) come pre-serialised from a per-answer template
// (src/util/serialized-json.ts): the same JSON as the object form, for a fraction of the work.
import type { FinishReason, GenerationEvent, TokenUsage, ToolCall } from "../../engine/engine.ts";
import { createStringSlotTemplate, type SerializedJson } from "../../util/serialized-json.ts";
import {
  type ResponseHead,
  toChatChunk,
  toCompletion,
  toQueueChunk,
  toToolCallDeltas,
  toUsageChunk,
} from "./responses.ts";

export interface CollectedGeneration {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  toolCalls: ToolCall[];
}

export async function collectGeneration(
  events: AsyncIterable<GenerationEvent>,
): Promise<CollectedGeneration> {
  let text = "";
  for await (const event of events) {
    if (event.type === "queued") continue;
    if (event.type === "text") text += event.text;
    else return { text, finishReason: event.finishReason, usage: event.usage, toolCalls: event.toolCalls };
  }
  throw new Error("generation ended without a done event");
}

export async function* toChatChunks(
  head: ResponseHead,
  events: AsyncIterable<GenerationEvent>,
  includeUsage: boolean,
) {
  let started = false;
  let textChunk: ((text: string) => SerializedJson) | undefined;
  for await (const event of events) {
    if (event.type === "queued") {
      yield toQueueChunk(head, "chat.completion.chunk", event.position);
      continue;
    }
    if (started && event.type === "text") {
      textChunk ??= createStringSlotTemplate((content) => toChatChunk(head, { content }, null));
      yield textChunk(event.text);
      continue;
    }
    const role = started ? {} : { role: "assistant" as const };
    started = true;
    if (event.type === "text") {
      yield toChatChunk(head, { ...role, content: event.text }, null);
      continue;
    }
    if (event.toolCalls.length > 0) {
      yield toChatChunk(head, { ...role, tool_calls: toToolCallDeltas(event.toolCalls) }, null);
    } else if (role.role) {
      yield toChatChunk(head, { ...role, content: "" }, null);
    }
    yield toChatChunk(head, {}, event.finishReason);
    if (includeUsage) yield toUsageChunk(head, "chat.completion.chunk", event.usage);
  }
}

export async function* toCompletionChunks(
  head: ResponseHead,
  events: AsyncIterable<GenerationEvent>,
  includeUsage: boolean,
) {
  let textChunk: ((text: string) => SerializedJson) | undefined;
  for await (const event of events) {
    if (event.type === "queued") {
      yield toQueueChunk(head, "text_completion", event.position);
      continue;
    }
    if (event.type === "text") {
      textChunk ??= createStringSlotTemplate((text) => toCompletion(head, text, null));
      yield textChunk(event.text);
      continue;
    }
    yield toCompletion(head, "", event.finishReason);
    if (includeUsage) yield toUsageChunk(head, "text_completion", event.usage);
  }
}
