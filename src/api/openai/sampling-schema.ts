// The sampling parameters shared by OpenAI's chat and completion requests (plus llama.cpp's common
// extensions top_k, min_p and repeat_penalty), and their translation to Ostrom's SamplingOptions.
import { z } from "zod";
import type { SamplingOptions } from "../../engine/engine.ts";
import { invalidParameter } from "../../errors.ts";

export const samplingFields = {
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  repeat_penalty: z.number().min(0).max(10).nullish(),
  n: z.number().int().nullish(),
  logit_bias: z
    .record(z.string().regex(/^\d+$/, "keys must be token ids"), z.number().min(-100).max(100))
    .nullish(),
};

type SamplingFields = { [Key in keyof typeof samplingFields]?: z.infer<(typeof samplingFields)[Key]> };

export interface SamplingLimits {
  /** Upper bound on max_tokens. */
  maxOutputTokens: number;
}

export function toSamplingOptions(
  fields: SamplingFields,
  limits: SamplingLimits,
  maxTokens = fields.max_tokens,
  maxTokensParam = "max_tokens",
): SamplingOptions {
  if (fields.n != null && fields.n !== 1) throw invalidParameter("n", "Only n=1 is supported.");
  if (maxTokens != null && maxTokens > limits.maxOutputTokens) {
    throw invalidParameter(
      maxTokensParam,
      `${maxTokensParam} is ${maxTokens}; this server allows at most ${limits.maxOutputTokens}.`,
    );
  }
  const stop =
    fields.stop == null
      ? undefined
      : (Array.isArray(fields.stop) ? fields.stop : [fields.stop]).filter((s) => s !== "");
  return {
    maxTokens: maxTokens ?? undefined,
    temperature: fields.temperature ?? undefined,
    topP: fields.top_p ?? undefined,
    topK: fields.top_k ?? undefined,
    minP: fields.min_p ?? undefined,
    seed: fields.seed ?? undefined,
    stop: stop && stop.length > 0 ? stop : undefined,
    presencePenalty: fields.presence_penalty ?? undefined,
    frequencyPenalty: fields.frequency_penalty ?? undefined,
    repeatPenalty: fields.repeat_penalty ?? undefined,
    logitBias: fields.logit_bias
      ? Object.fromEntries(Object.entries(fields.logit_bias).map(([token, bias]) => [Number(token), bias]))
      : undefined,
  };
}

export const responseFormatSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      json_schema: z.object({
        name: z.string().min(1).max(64),
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()),
        strict: z.boolean().nullish(),
      }),
    }),
  ])
  .nullish();

export function toResponseFormat(format: z.infer<typeof responseFormatSchema>) {
  if (!format || format.type === "text") return { type: "text" } as const;
  if (format.type === "json_object") return { type: "json_object" } as const;
  return { type: "json_schema", schema: format.json_schema.schema } as const;
}
