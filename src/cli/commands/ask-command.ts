// `ostrom ask KB "QUESTION"`: an answer grounded in a knowledge base, streamed to stdout, then the
// numbered sources it may cite with their license and attribution, and any source left out by the
// license rule. Runs the model in process, like `ostrom run`; no server needed.
import { invalidParameter } from "../../errors.ts";
import { askKnowledgeBase } from "../../knowledge/ask-knowledge-base.ts";
import { formatSources } from "../../knowledge/format-sources.ts";
import type { Command } from "../command.ts";
import { openLocalAnswerer } from "./open-local-answerer.ts";
import { printGeneration, quietUnlessVerbose } from "./run-command.ts";

export const askCommand: Command = {
  name: "ask",
  usage: 'ostrom ask KB "QUESTION" [--model MODEL] [--top-k N] [--max-tokens N] [--temperature T]',
  summary: "Answer a question from a knowledge base, citing its sources with their licenses.",
  flags: {
    model: {
      type: "string",
      description: "Model to answer with (default: the knowledge base's, else the default model).",
    },
    "top-k": { type: "string", description: "Sources to give the model (default: --knowledge-top-k)." },
    "max-tokens": { type: "string", description: "Tokens to generate at most (default 512)." },
    temperature: { type: "string", description: "Sampling temperature; 0 is greedy (default 0.2)." },
    verbose: { type: "boolean", description: "Print token counts, speed and engine notes to stderr." },
  },
  positionals: [2, 2],
  async run(input) {
    const [base, question] = input.positionals as [string, string];
    const topK = readInteger(input.flags["top-k"], "top-k");
    const maxTokens = readInteger(input.flags["max-tokens"], "max-tokens") ?? 512;
    const temperature = readNumber(input.flags.temperature, "temperature");
    await using answerer = await openLocalAnswerer(input, quietUnlessVerbose(input), 0);
    const answer = await askKnowledgeBase(answerer, base, question, {
      ...(typeof input.flags.model === "string" ? { model: input.flags.model } : {}),
      ...(topK !== undefined ? { topK } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      maxTokens,
      signal: new AbortController().signal,
    });
    if (input.flags.verbose) input.stderr.write(`answering with ${answer.model.ref}\n`);
    await printGeneration(answer.events, input);
    input.stdout.write(`\n${formatSources(answer.grounded.sources, answer.grounded.excluded)}`);
    return 0;
  },
};

function readNumber(raw: string | boolean | undefined, name: string): number | undefined {
  if (typeof raw !== "string") return undefined;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value))
    throw invalidParameter(name, `--${name} expects a number, got ${JSON.stringify(raw)}.`);
  return value;
}

function readInteger(raw: string | boolean | undefined, name: string): number | undefined {
  const value = readNumber(raw, name);
  if (value !== undefined && (!Number.isInteger(value) || value < 1))
    throw invalidParameter(name, `--${name} expects a positive integer, got ${JSON.stringify(raw)}.`);
  return value;
}
