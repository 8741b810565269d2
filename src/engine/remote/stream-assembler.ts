// Turns the decoded JSON chunks of an upstream's OpenAI stream (`chat.completion.chunk` or
// `text_completion`) into Ostrom's generation events: text deltas as they come, tool calls assembled
// from their fragments, and one `done` with finish reason and usage once the stream has ended. Also
// takes a whole non-streamed answer (`chat.completion` / `text_completion`) as if it were one chunk, so
// that both ways of asking end in the same events. Pure; depends only on the engine's types.
import { randomBytes } from "node:crypto";
import type { FinishReason, GenerationEvent, TokenUsage, ToolCall } from "../engine.ts";

/** A chunk that is not shaped like an OpenAI stream chunk: the upstream is not speaking the protocol. */
export class MalformedChunkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedChunkError";
  }
}

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
}

export class StreamAssembler {
  readonly #promptChars: number;
  readonly #toolCalls = new Map<number, PartialToolCall>();
  #finishReason: FinishReason | undefined;
  #usage: TokenUsage | undefined;
  #deltas = 0;
  /** Completion tokens to count for a whole answer whose upstream reports no usage. */
  #wholeCompletionEstimate: number | undefined;

  /** `promptChars`: characters of the prompt, to estimate its tokens if the upstream reports none. */
  constructor(promptChars: number) {
    this.#promptChars = promptChars;
  }

  /** Whether the upstream has said why generation ended (its stream may still send usage after that). */
  get finished(): boolean {
    return this.#finishReason !== undefined;
  }

  /** Takes one parsed chunk; returns the text it adds, if any. Throws MalformedChunkError. */
  accept(chunk: unknown): GenerationEvent | undefined {
    if (!isRecord(chunk)) throw new MalformedChunkError("A stream chunk is not a JSON object.");
    if (isRecord(chunk.usage)) this.#usage = readUsage(chunk.usage);
    if (chunk.choices === undefined || chunk.choices === null) {
      if (chunk.usage === undefined)
        throw new MalformedChunkError("A stream chunk has neither choices nor usage.");
      return undefined;
    }
    if (!Array.isArray(chunk.choices))
      throw new MalformedChunkError("A stream chunk's choices is not a list.");
    // Ostrom always asks for one choice (n = 1); anything at another index is ignored.
    const choice = chunk.choices.find((entry) => isRecord(entry) && (entry.index ?? 0) === 0);
    if (choice === undefined) return undefined;
    if (!isRecord(choice)) throw new MalformedChunkError("A stream choice is not a JSON object.");
    const reason = choice.finish_reason;
    if (typeof reason === "string") this.#finishReason = toFinishReason(reason);

    let text = "";
    if (typeof choice.text === "string") text = choice.text;
    if (isRecord(choice.delta)) {
      if (typeof choice.delta.content === "string") text += choice.delta.content;
      if (Array.isArray(choice.delta.tool_calls)) this.#acceptToolCallDeltas(choice.delta.tool_calls);
    }
    return this.acceptText(text);
  }

  /**
   * Takes a chunk's text: all `accept` does with a chunk that carries only text (one choice, no finish
   * reason, usage or tool calls), which text-delta-template.ts reads without parsing.
   */
  acceptText(text: string): GenerationEvent | undefined {
    if (text === "") return undefined;
    this.#deltas += 1;
    return { type: "text", text };
  }

  /**
   * Takes a whole non-streamed answer; returns its text as one event, if it has any. Its message is read
   * as one delta (content and complete tool calls). Throws MalformedChunkError.
   */
  acceptWhole(answer: unknown): GenerationEvent | undefined {
    if (!isRecord(answer)) throw new MalformedChunkError("The answer is not a JSON object.");
    if (!Array.isArray(answer.choices)) throw new MalformedChunkError("The answer has no choices list.");
    const choices = answer.choices.map((choice) =>
      isRecord(choice) && isRecord(choice.message) ? { ...choice, delta: choice.message } : choice,
    );
    const event = this.accept({ choices, usage: answer.usage });
    // Without the upstream's usage, ~4 characters per token: there are no chunks to count here.
    let characters = event?.type === "text" ? event.text.length : 0;
    for (const call of this.#toolCalls.values()) characters += call.arguments.length;
    this.#wholeCompletionEstimate = Math.ceil(characters / 4);
    return event;
  }

  /**
   * The final event. `cancelled`: the client went away and the stream was cut on purpose.
   *
   * Usage is the upstream's whenever it sent it (Ostrom asks for it with `stream_options.include_usage`;
   * vLLM, llama.cpp's server and Ollama send it). Servers that do not are counted by what can be
   * justified: completion tokens = chunks that carried text or tool-call arguments, because these
   * servers stream each generated token as soon as it is decoded, so there are at most as many chunks
   * as tokens (a lower bound; a multi-token UTF-8 character arrives as one chunk); prompt tokens = the
   * prompt's characters ÷ 4, the usual average for English with BPE vocabularies, so that accounting
   * and quotas do not see a free prompt. Neither is exact, and only matters for such servers. For a
   * whole answer (acceptWhole) completion tokens are its characters ÷ 4 likewise.
   */
  finish(cancelled = false): GenerationEvent {
    const toolCalls: ToolCall[] = [...this.#toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({
        id: call.id === "" ? createToolCallId() : call.id,
        name: call.name,
        arguments: call.arguments,
      }));
    const usage = this.#usage ?? {
      promptTokens: Math.ceil(this.#promptChars / 4),
      completionTokens: this.#wholeCompletionEstimate ?? this.#deltas,
    };
    let finishReason: FinishReason = cancelled ? "cancelled" : (this.#finishReason ?? "stop");
    if (!cancelled && this.#finishReason === undefined && toolCalls.length > 0) finishReason = "tool_calls";
    return { type: "done", finishReason, usage, toolCalls };
  }

  #acceptToolCallDeltas(deltas: unknown[]): void {
    let carriedArguments = false;
    for (const [position, delta] of deltas.entries()) {
      if (!isRecord(delta)) throw new MalformedChunkError("A tool call delta is not a JSON object.");
      // `index` says which call a fragment continues; servers that send whole calls may omit it.
      const index = typeof delta.index === "number" ? delta.index : position;
      const call = this.#toolCalls.get(index) ?? { id: "", name: "", arguments: "" };
      this.#toolCalls.set(index, call);
      if (typeof delta.id === "string" && delta.id !== "") call.id = delta.id;
      const fn = isRecord(delta.function) ? delta.function : {};
      // The name normally arrives whole in the first fragment; some servers repeat it in every one,
      // a few split it. Repeats are dropped, pieces joined.
      if (typeof fn.name === "string" && fn.name !== call.name) call.name += fn.name;
      if (typeof fn.arguments === "string" && fn.arguments !== "") {
        call.arguments += fn.arguments;
        carriedArguments = true;
      }
    }
    if (carriedArguments) this.#deltas += 1;
  }
}

function toFinishReason(reason: string): FinishReason {
  switch (reason) {
    case "length":
      return "length";
    case "tool_calls":
    case "function_call":
      return "tool_calls";
    default:
      // "stop", "eos", "content_filter" and whatever else a server invents: generation ended normally.
      return "stop";
  }
}

function readUsage(usage: Record<string, unknown>): TokenUsage {
  const count = (value: unknown) =>
    typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0;
  return { promptTokens: count(usage.prompt_tokens), completionTokens: count(usage.completion_tokens) };
}

function createToolCallId(): string {
  return `call_${randomBytes(12).toString("base64url")}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
