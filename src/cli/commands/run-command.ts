// `ostrom run MODEL PROMPT`: one answer, streamed to stdout, without a server. Chat models answer
// through their chat template; models without one (base models) complete the prompt.
import type { GenerationEvent, ModelHandle } from "../../engine/engine.ts";
import { createEngine } from "../../runtime/create-engine.ts";
import { hasChatTemplate } from "../../runtime/model-capabilities.ts";
import { ModelProvenanceService } from "../../runtime/model-provenance-service.ts";
import { openStore } from "../../runtime/open-store.ts";
import { toModelHandle } from "../../server/app-context.ts";
import { createLogger, type Logger, silentLogger } from "../../util/logger.ts";
import type { Command, CommandInput } from "../command.ts";
import {
  createOpeningMessages,
  createPlainChatRequest,
  generationFlags,
  toSampling,
} from "./generation-flags.ts";

export const runCommand: Command = {
  name: "run",
  usage: 'ostrom run MODEL "PROMPT" [--max-tokens N] [--temperature T] [--raw]',
  summary: "Generate one answer to a prompt and print it as it streams.",
  flags: generationFlags,
  positionals: [2, 2],
  async run(input) {
    const [ref, prompt] = input.positionals as [string, string];
    const model = await resolveModel(input, ref);
    // One-shot: unload as soon as the answer is done.
    await using engine = createEngine(
      { ...input.config, keepAlive: 0, parallel: 1 },
      quietUnlessVerbose(input),
    );
    const useChat = !input.flags.raw && (await hasChatTemplate(model));
    const messages = [...createOpeningMessages(input.flags), { role: "user" as const, content: prompt }];
    const signal = new AbortController().signal;
    const events = useChat
      ? engine.chat(createPlainChatRequest(model, messages, input.flags), signal)
      : engine.complete(
          { model, prompt, sampling: toSampling(input.flags), responseFormat: { type: "text" } },
          signal,
        );
    await printGeneration(events, input);
    return 0;
  },
};

/** One-shot commands print only the answer; engine notes (model loaded…) only with --verbose. */
export function quietUnlessVerbose(input: CommandInput): Logger {
  return input.flags.verbose ? input.log : createLogger("warn");
}

/**
 * The stored model `ref`, checked as the server checks it before loading: the serving policy (when
 * `--policy` is set) and the file's sha256 (`model_integrity_failed` when it changed on disk).
 */
export async function resolveModel(input: CommandInput, ref: string): Promise<ModelHandle> {
  const store = await openStore(input.config);
  const entry = await store.resolve(ref);
  // The error itself is printed by main; the service's own log lines only with --verbose.
  const provenance = await ModelProvenanceService.create(
    input.config,
    input.flags.verbose ? input.log : silentLogger,
  );
  await provenance.assertServable(entry);
  return toModelHandle(entry);
}

/** Streams text to stdout; returns the full text. Speed goes to stderr with --verbose. */
export async function printGeneration(
  events: AsyncIterable<GenerationEvent>,
  input: CommandInput,
): Promise<string> {
  const started = performance.now();
  let firstTokenAt: number | undefined;
  let text = "";
  for await (const event of events) {
    if (event.type === "queued") continue;
    if (event.type === "text") {
      firstTokenAt ??= performance.now();
      text += event.text;
      input.stdout.write(event.text);
      continue;
    }
    input.stdout.write("\n");
    if (input.flags.verbose) {
      const seconds = (performance.now() - (firstTokenAt ?? started)) / 1000;
      const { promptTokens, completionTokens } = event.usage;
      input.stderr.write(
        `${promptTokens} prompt + ${completionTokens} completion tokens; first token after ` +
          `${Math.round((firstTokenAt ?? started) - started)} ms; ${(completionTokens / Math.max(seconds, 1e-6)).toFixed(1)} tokens/s; ` +
          `finish: ${event.finishReason}\n`,
      );
    }
  }
  return text;
}
