// OpenAI `POST /v1/embeddings` request: schema and translation.
import { z } from "zod";
import { invalidParameter } from "../../errors.ts";
import { parseBody } from "./parse-body.ts";

export const embeddingRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().nullish(),
  user: z.string().optional(),
});

export interface ParsedEmbeddingRequest {
  modelName: string;
  inputs: string[];
  encoding: "float" | "base64";
}

export function parseEmbeddingRequest(body: unknown): ParsedEmbeddingRequest {
  const parsed = parseBody(embeddingRequestSchema, body);
  if (parsed.dimensions != null)
    throw invalidParameter("dimensions", "dimensions is not supported: the model's size is used.");
  const inputs = typeof parsed.input === "string" ? [parsed.input] : parsed.input;
  const emptyIndex = inputs.indexOf("");
  if (emptyIndex >= 0) throw invalidParameter("input", `input[${emptyIndex}] is empty.`);
  return { modelName: parsed.model, inputs, encoding: parsed.encoding_format ?? "float" };
}
