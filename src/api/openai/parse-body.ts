// Validates a decoded JSON body against a zod schema and turns the first problem into an
// `invalid_parameter` error naming the parameter in OpenAI's dotted/indexed form (`messages[0].role`).
import type { z } from "zod";
import { invalidParameter } from "../../errors.ts";

export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = formatPath(issue?.path ?? []);
  throw invalidParameter(param, `Invalid ${param || "request body"}: ${issue?.message ?? "malformed"}.`);
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === "number") return `${text}[${key}]`;
    return text === "" ? String(key) : `${text}.${String(key)}`;
  }, "");
}
