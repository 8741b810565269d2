// Flags shared by `ostrom run` and `ostrom chat`, and their translation to sampling options.

import type { ChatMessage, ChatRequest, ModelHandle, SamplingOptions } from "../../engine/engine.ts";
import { invalidParameter } from "../../errors.ts";
import type { CommandFlag } from "../command.ts";

export const generationFlags: Record<string, CommandFlag> = {
  "max-tokens": {
    type: "string",
    description: "Tokens to generate at most (default: until the model stops).",
  },
  temperature: { type: "string", description: "Sampling temperature; 0 is greedy (default 0.8)." },
  seed: { type: "string", description: "Random seed, for reproducible sampling." },
  system: { type: "string", description: "System message (chat models)." },
  raw: { type: "boolean", description: "Plain completion of the prompt, without the chat template." },
  verbose: { type: "boolean", description: "Print token counts and speed to stderr." },
};

export function toSampling(flags: Record<string, string | boolean | undefined>): SamplingOptions {
  return {
    maxTokens: readNumber(flags, "max-tokens"),
    temperature: readNumber(flags, "temperature"),
    seed: readNumber(flags, "seed"),
  };
}

function readNumber(flags: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const raw = flags[name];
  if (typeof raw !== "string") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw invalidParameter(name, `--${name} expects a number, got ${JSON.stringify(raw)}.`);
  return value;
}

/** The conversation's opening: the --system message, if any. */
export function createOpeningMessages(flags: Record<string, string | boolean | undefined>): ChatMessage[] {
  return typeof flags.system === "string" ? [{ role: "system", content: flags.system }] : [];
}

/** A plain-text chat request (no tools, no response format) with the sampling flags. */
export function createPlainChatRequest(
  model: ModelHandle,
  messages: ChatMessage[],
  flags: Record<string, string | boolean | undefined>,
): ChatRequest {
  return {
    model,
    messages,
    sampling: toSampling(flags),
    responseFormat: { type: "text" },
    tools: [],
    toolChoice: { type: "none" },
  };
}
