// Ollama's `/api/chat`, `/api/generate` and `/api/embed` requests: schemas and translation to
// Ostrom's internal requests, so Ollama clients reach the same engine calls as OpenAI clients.
import { z } from "zod";
import type { ChatRequest, CompletionRequest, ResponseFormat, SamplingOptions } from "../../engine/engine.ts";
import { invalidParameter } from "../../errors.ts";
import { parseBody } from "../openai/parse-body.ts";

const optionsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    min_p: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    num_predict: z.number().int().optional(),
    stop: z.array(z.string()).max(16).optional(),
    repeat_penalty: z.number().min(0).max(10).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
  })
  .optional();

const formatSchema = z
  .union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())])
  .optional();

const chatSchema = z.object({
  model: z.string().min(1),
  messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(1),
  stream: z.boolean().optional(),
  format: formatSchema,
  options: optionsSchema,
});

const generateSchema = z.object({
  model: z.string().min(1),
  prompt: z.string(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  stream: z.boolean().optional(),
  format: formatSchema,
  options: optionsSchema,
});

const embedSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
});

export interface OllamaLimits {
  maxOutputTokens: number;
}

function toSampling(options: z.infer<typeof optionsSchema>, limits: OllamaLimits): SamplingOptions {
  const numPredict = options?.num_predict;
  if (numPredict !== undefined && numPredict > limits.maxOutputTokens) {
    throw invalidParameter("options.num_predict", `num_predict may be at most ${limits.maxOutputTokens}.`);
  }
  return {
    // Ollama uses -1 (and -2) for "no limit".
    maxTokens: numPredict !== undefined && numPredict > 0 ? numPredict : undefined,
    temperature: options?.temperature,
    topP: options?.top_p,
    topK: options?.top_k,
    minP: options?.min_p,
    seed: options?.seed,
    stop: options?.stop,
    repeatPenalty: options?.repeat_penalty,
    presencePenalty: options?.presence_penalty,
    frequencyPenalty: options?.frequency_penalty,
  };
}

function toResponseFormat(format: z.infer<typeof formatSchema>): ResponseFormat {
  if (format === undefined || format === "") return { type: "text" };
  if (format === "json") return { type: "json_object" };
  return { type: "json_schema", schema: format };
}

export function parseOllamaChat(body: unknown, limits: OllamaLimits) {
  const parsed = parseBody(chatSchema, body);
  const request: Omit<ChatRequest, "model"> = {
    messages: parsed.messages,
    sampling: toSampling(parsed.options, limits),
    responseFormat: toResponseFormat(parsed.format),
    tools: [],
    toolChoice: { type: "none" },
  };
  return { modelName: parsed.model, stream: parsed.stream ?? true, request };
}

/** `raw` (or a model without template, decided by the caller) completes; otherwise it is a one-turn chat. */
export function parseOllamaGenerate(body: unknown, limits: OllamaLimits) {
  const parsed = parseBody(generateSchema, body);
  const sampling = toSampling(parsed.options, limits);
  const responseFormat = toResponseFormat(parsed.format);
  const completion: Omit<CompletionRequest, "model"> = { prompt: parsed.prompt, sampling, responseFormat };
  const chat: Omit<ChatRequest, "model"> = {
    messages: [
      ...(parsed.system ? [{ role: "system" as const, content: parsed.system }] : []),
      { role: "user" as const, content: parsed.prompt },
    ],
    sampling,
    responseFormat,
    tools: [],
    toolChoice: { type: "none" },
  };
  return {
    modelName: parsed.model,
    stream: parsed.stream ?? true,
    raw: parsed.raw ?? false,
    completion,
    chat,
  };
}

export function parseOllamaEmbed(body: unknown) {
  const parsed = parseBody(embedSchema, body);
  return {
    modelName: parsed.model,
    inputs: typeof parsed.input === "string" ? [parsed.input] : parsed.input,
  };
}
