// OpenAI `POST /v1/completions` request: schema and translation to Ostrom's completion request.
import { z } from "zod";
import type { CompletionRequest } from "../../engine/engine.ts";
import { invalidParameter } from "../../errors.ts";
import { parseBody } from "./parse-body.ts";
import {
  responseFormatSchema,
  type SamplingLimits,
  samplingFields,
  toResponseFormat,
  toSamplingOptions,
} from "./sampling-schema.ts";

/** OpenAI's documented default for /v1/completions. */
const defaultCompletionMaxTokens = 16;

export const completionRequestSchema = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  logprobs: z.number().int().nullish(),
  best_of: z.number().int().nullish(),
  response_format: responseFormatSchema,
  ...samplingFields,
});

export interface ParsedCompletionRequest {
  modelName: string;
  stream: boolean;
  includeUsage: boolean;
  request: Omit<CompletionRequest, "model">;
}

export function parseCompletionRequest(body: unknown, limits: SamplingLimits): ParsedCompletionRequest {
  const parsed = parseBody(completionRequestSchema, body);
  if (parsed.echo) throw invalidParameter("echo", "echo is not supported.");
  if (parsed.suffix) throw invalidParameter("suffix", "suffix (infill) is not supported.");
  if (parsed.logprobs != null) throw invalidParameter("logprobs", "logprobs are not supported.");
  if (parsed.best_of != null && parsed.best_of !== 1)
    throw invalidParameter("best_of", "Only best_of=1 is supported.");
  const prompt = typeof parsed.prompt === "string" ? parsed.prompt : parsed.prompt[0]!;
  return {
    modelName: parsed.model,
    stream: parsed.stream ?? false,
    includeUsage: parsed.stream_options?.include_usage ?? false,
    request: {
      prompt,
      sampling: toSamplingOptions(parsed, limits, parsed.max_tokens ?? defaultCompletionMaxTokens),
      responseFormat: toResponseFormat(parsed.response_format),
    },
  };
}
