// OpenAI `POST /v1/chat/completions` request: schema and translation to Ostrom's chat request.
import { z } from "zod";
import type { ChatMessage, ChatRequest, ToolChoice, ToolDefinition } from "../../engine/engine.ts";
import { invalidParameter } from "../../errors.ts";
import { parseBody } from "./parse-body.ts";
import {
  responseFormatSchema,
  type SamplingLimits,
  samplingFields,
  toResponseFormat,
  toSamplingOptions,
} from "./sampling-schema.ts";

const contentPartSchema = z.object({ type: z.string(), text: z.string().optional() });
const contentSchema = z.union([z.string(), z.array(contentPartSchema)]).nullish();

const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const messageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: contentSchema,
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_call_id: z.string().optional(),
});

const toolSchema = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -"),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const toolChoiceSchema = z
  .union([
    z.enum(["none", "auto", "required"]),
    z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
  ])
  .nullish();

/** Ostrom's extension: ground the answer in knowledge bases (`{"bases": ["handbook"], "top_k": 4}`). */
const knowledgeSchema = z
  .object({
    bases: z
      .array(z.string().min(1).max(64))
      .min(1, "name at least one knowledge base")
      .max(8, "name at most 8 knowledge bases"),
    top_k: z.number().int().min(1).max(32).optional(),
  })
  .strict()
  .nullish();

export const chatCompletionRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  response_format: responseFormatSchema,
  tools: z.array(toolSchema).max(128).nullish(),
  tool_choice: toolChoiceSchema,
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  knowledge: knowledgeSchema,
  ...samplingFields,
});

export interface ParsedChatRequest {
  modelName: string;
  stream: boolean;
  includeUsage: boolean;
  request: Omit<ChatRequest, "model">;
  /** Knowledge bases to ground the answer in (the `knowledge` extension field), when asked. */
  knowledge?: { bases: string[]; topK?: number };
}

export function parseChatRequest(body: unknown, limits: SamplingLimits): ParsedChatRequest {
  const parsed = parseBody(chatCompletionRequestSchema, body);
  if (parsed.logprobs) throw invalidParameter("logprobs", "logprobs are not supported.");
  const maxTokensParam = parsed.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
  const tools: ToolDefinition[] = (parsed.tools ?? []).map(({ function: fn }) => ({
    name: fn.name,
    description: fn.description,
    parameters: fn.parameters,
  }));
  return {
    modelName: parsed.model,
    stream: parsed.stream ?? false,
    includeUsage: parsed.stream_options?.include_usage ?? false,
    ...(parsed.knowledge
      ? {
          knowledge: {
            bases: parsed.knowledge.bases,
            ...(parsed.knowledge.top_k !== undefined ? { topK: parsed.knowledge.top_k } : {}),
          },
        }
      : {}),
    request: {
      messages: parsed.messages.map(toChatMessage),
      sampling: toSamplingOptions(
        parsed,
        limits,
        parsed.max_completion_tokens ?? parsed.max_tokens,
        maxTokensParam,
      ),
      responseFormat: toResponseFormat(parsed.response_format),
      tools,
      toolChoice: toToolChoice(parsed.tool_choice, tools),
    },
  };
}

function toChatMessage(message: z.infer<typeof messageSchema>, index: number): ChatMessage {
  return {
    role: message.role === "developer" ? "system" : message.role,
    content: toText(message.content, index),
    toolCalls: message.tool_calls?.map((call) => ({
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    })),
    toolCallId: message.tool_call_id,
    name: message.name,
  };
}

function toText(content: z.infer<typeof contentSchema>, index: number): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, partIndex) => {
      if (part.type !== "text" || part.text === undefined) {
        throw invalidParameter(
          `messages[${index}].content[${partIndex}].type`,
          `Content parts of type "${part.type}" are not supported; only text.`,
        );
      }
      return part.text;
    })
    .join("");
}

function toToolChoice(
  choice: z.infer<typeof toolChoiceSchema>,
  tools: readonly ToolDefinition[],
): ToolChoice {
  if (choice == null) return { type: tools.length > 0 ? "auto" : "none" };
  if (typeof choice === "string") {
    if (choice === "required" && tools.length === 0)
      throw invalidParameter("tool_choice", "tool_choice is required but no tools are given.");
    return { type: choice };
  }
  if (!tools.some((tool) => tool.name === choice.function.name)) {
    throw invalidParameter(
      "tool_choice",
      `tool_choice names "${choice.function.name}", which is not in tools.`,
    );
  }
  return { type: "function", name: choice.function.name };
}
