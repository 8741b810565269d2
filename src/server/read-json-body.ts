// Reads a request body as JSON; the size bound is enforced before by the body-limit middleware.
import type { Context } from "hono";
import { OstromError } from "../errors.ts";

export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "")
    throw new OstromError("invalid_json", "The request body is empty; send a JSON object.");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OstromError("invalid_json", `The request body is not valid JSON: ${(error as Error).message}`);
  }
}
