// Builders for OpenAI response objects and stream chunks from Ostrom's generation results. Pure.
import { randomFillSync } from "node:crypto";
import type { FinishReason, TokenUsage, ToolCall } from "../../engine/engine.ts";

const idBytes = 12;
/** Random bytes for ids, drawn 256 ids at a time: one `randomBytes` per response cost ~1.5 % of a request. */
const idPool = Buffer.alloc(idBytes * 256);
let idPoolOffset = idPool.length;

export function createResponseId(prefix: "chatcmpl" | "cmpl"): string {
  if (idPoolOffset === idPool.length) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  const id = idPool.toString("base64url", idPoolOffset, idPoolOffset + idBytes);
  idPoolOffset += idBytes;
  return `${prefix}-${id}`;
}

export function toOpenAIUsage(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** OpenAI has no "cancelled": a cancelled generation's client is gone, and anything sent says "stop". */
export function toOpenAIFinishReason(reason: FinishReason): "stop" | "length" | "tool_calls" {
  return reason === "cancelled" ? "stop" : reason;
}

function toOpenAIToolCalls(toolCalls: readonly ToolCall[]) {
  return toolCalls.map((call) => ({
    id: call.id,
    type: "function" as const,
    function: { name: call.name, arguments: call.arguments },
  }));
}

export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

export function toChatCompletion(
  head: ResponseHead,
  result: { text: string; finishReason: FinishReason; usage: TokenUsage; toolCalls: ToolCall[] },
) {
  return {
    id: head.id,
    object: "chat.completion" as const,
    created: head.created,
    model: head.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant" as const,
          content: result.toolCalls.length > 0 && result.text === "" ? null : result.text,
          refusal: null,
          ...(result.toolCalls.length > 0 ? { tool_calls: toOpenAIToolCalls(result.toolCalls) } : {}),
        },
        logprobs: null,
        finish_reason: toOpenAIFinishReason(result.finishReason),
      },
    ],
    usage: toOpenAIUsage(result.usage),
  };
}

export type ChatDelta = { role?: "assistant"; content?: string; tool_calls?: Array<Record<string, unknown>> };

export function toChatChunk(head: ResponseHead, delta: ChatDelta, finishReason: FinishReason | null) {
  return {
    id: head.id,
    object: "chat.completion.chunk" as const,
    created: head.created,
    model: head.model,
    choices: [
      {
        index: 0,
        delta,
        logprobs: null,
        finish_reason: finishReason === null ? null : toOpenAIFinishReason(finishReason),
      },
    ],
  };
}

export function toToolCallDeltas(toolCalls: readonly ToolCall[]) {
  return toolCalls.map((call, index) => ({
    index,
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  }));
}

type ChunkObject = "chat.completion.chunk" | "text_completion";

/** A stream chunk without choices: what OpenAI clients accept for the usage chunk, and Ostrom's extensions. */
function toChoicelessChunk<Extra extends object>(head: ResponseHead, object: ChunkObject, extra: Extra) {
  return { id: head.id, object, created: head.created, model: head.model, choices: [], ...extra };
}

export function toUsageChunk(head: ResponseHead, object: ChunkObject, usage: TokenUsage) {
  return toChoicelessChunk(head, object, { usage: toOpenAIUsage(usage) });
}

export function toCompletion(
  head: ResponseHead,
  text: string,
  finishReason: FinishReason | null,
  usage?: TokenUsage,
) {
  return {
    id: head.id,
    object: "text_completion" as const,
    created: head.created,
    model: head.model,
    choices: [
      {
        index: 0,
        text,
        logprobs: null,
        finish_reason: finishReason === null ? null : toOpenAIFinishReason(finishReason),
      },
    ],
    ...(usage ? { usage: toOpenAIUsage(usage) } : {}),
  };
}

export function toEmbeddingList(
  model: string,
  vectors: number[][],
  encoding: "float" | "base64",
  promptTokens: number,
) {
  return {
    object: "list" as const,
    model,
    data: vectors.map((vector, index) => ({
      object: "embedding" as const,
      index,
      embedding:
        encoding === "float" ? vector : Buffer.from(new Float32Array(vector).buffer).toString("base64"),
    })),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/**
 * Ostrom's extension chunk for a request waiting for a slot: no choices (which OpenAI clients accept, as
 * for the usage chunk) and `ostrom.queue.position`, 1-based, sent again whenever the position changes.
 */
export function toQueueChunk(head: ResponseHead, object: ChunkObject, position: number) {
  return toChoicelessChunk(head, object, { ostrom: { queue: { position } } });
}
