// One GGUF model loaded with node-llama-cpp: one context with `parallel` sequences, so concurrent
// requests are batched into the same evaluation steps, each step shared fairly between the tenants
// whose requests hold the sequences (fair-batching.ts). Runs inside a runner process (runner-main.ts);
// must not be imported by the server, so a native crash only ever takes a runner down.

import { randomInt } from "node:crypto";
import os from "node:os";
import {
  type ChatModelFunctions,
  type GbnfJsonSchema,
  getLlama,
  type Llama,
  LlamaChat,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaGrammar,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
  TokenBias,
  type TokenMeterState,
} from "node-llama-cpp";
import { invalidParameter, OstromError } from "../../errors.ts";
import type {
  FinishReason,
  GenerationEvent,
  ResponseFormat,
  SamplingOptions,
  ToolCall,
  ToolDefinition,
  WorkShare,
} from "../engine.ts";
import { StopSequenceFilter } from "../stop-sequence-filter.ts";
import { FairBatching } from "./fair-batching.ts";
import { type EngineBuild, resolveThreadCount, wantsThreadTeam } from "./resolve-thread-count.ts";
import type {
  RunnerChatRequest,
  RunnerCompletionRequest,
  RunnerLoadOptions,
  RunnerModelInfo,
} from "./runner-protocol.ts";
import { tightenJsonNumberRules } from "./tighten-json-number-rules.ts";
import { toLlamaChatHistory } from "./to-llama-chat-history.ts";

type DoneEvent = Extract<GenerationEvent, { type: "done" }>;

const maxCachedGrammars = 32;

export class LlamaRunner {
  readonly info: RunnerModelInfo;
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  /** Sequences in the order the context made them, i.e. by sequence id. */
  readonly #sequences: readonly LlamaContextSequence[];
  readonly #freeSequences: Set<LlamaContextSequence>;
  readonly #options: RunnerLoadOptions;
  readonly #batching: FairBatching;
  #embeddingContext: Promise<LlamaEmbeddingContext> | undefined;
  #nextToolCallId = 0;

  private constructor(
    llama: Llama,
    model: LlamaModel,
    context: LlamaContext,
    options: RunnerLoadOptions,
    engineBuild: RunnerModelInfo["engineBuild"],
    batching: FairBatching,
  ) {
    this.#llama = llama;
    this.#model = model;
    this.#context = context;
    this.#options = options;
    this.#batching = batching;
    this.#sequences = Array.from({ length: options.parallel }, () => context.getSequence());
    this.#freeSequences = new Set(this.#sequences);
    this.info = {
      contextSize: context.contextSize,
      trainContextSize: model.trainContextSize,
      parallel: options.parallel,
      threads: context.currentThreads,
      engineBuild,
    };
  }

  static async load(options: RunnerLoadOptions): Promise<LlamaRunner> {
    const { llama, engineBuild, threads } = await loadLlama(options.threads);
    const model = await llama.loadModel({ modelPath: options.modelPath });
    const contextSize = Math.min(options.contextSize, model.trainContextSize);
    const batching = new FairBatching({
      warn: (message) => process.stderr.write(`[runner ${process.pid}] ${message}\n`),
    });
    const context = await model.createContext({
      contextSize,
      sequences: options.parallel,
      // An explicit count: node-llama-cpp's CPU default oversubscribes small machines (see MODELS.md).
      threads: { ideal: threads, min: 1 },
      batchSize: Math.min(512, contextSize),
      batching: { itemPrioritizationStrategy: batching.strategy },
    });
    batching.attach(context);
    return new LlamaRunner(llama, model, context, options, engineBuild, batching);
  }

  async chat(
    request: RunnerChatRequest,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<DoneEvent> {
    const history = toLlamaChatHistory(request.messages);
    const forcedTool =
      request.tools.length > 0 ? getForcedTools(request.tools, request.toolChoice) : undefined;
    const functions =
      request.tools.length > 0 && request.toolChoice.type === "auto"
        ? toChatModelFunctions(request.tools)
        : undefined;
    const grammar = forcedTool
      ? await this.#createGrammar(toToolCallSchema(forcedTool), "tool_choice")
      : await this.#createResponseFormatGrammar(request.responseFormat);

    return this.#withSequence(request.owner, async (sequence) => {
      const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      try {
        const promptTokens = chat.chatWrapper
          .generateContextState({
            chatHistory: history,
            availableFunctions: functions,
            documentFunctionParams: true,
          })
          .contextText.tokenize(this.#model.tokenizer).length;
        const maxTokens = this.#resolveMaxTokens(promptTokens, request.sampling.maxTokens);
        const meterAtStart = sequence.tokenMeter.getState();
        const output = createTextOutput(request.sampling.stop, signal, onText);
        const common = {
          ...toSamplingOptions(request.sampling),
          tokenBias: this.#createTokenBias(request.sampling.logitBias),
          maxTokens,
          signal: output.signal,
          stopOnAbortSignal: true,
          onTextChunk: forcedTool ? undefined : output.write,
        };
        const result = functions
          ? await chat.generateResponse(history, { ...common, functions, documentFunctionParams: true })
          : await chat.generateResponse(history, { ...common, grammar });

        const usage = { promptTokens, completionTokens: countSampledTokens(sequence, meterAtStart) };
        if (forcedTool) {
          if (result.metadata.stopReason === "abort")
            return { type: "done", finishReason: "cancelled", usage, toolCalls: [] };
          const call = this.#parseForcedToolCall(result.response);
          // Without a complete call the budget ran out mid-arguments: report it as cut off.
          return call
            ? { type: "done", finishReason: "tool_calls", usage, toolCalls: [call] }
            : { type: "done", finishReason: "length", usage, toolCalls: [] };
        }
        const toolCalls = (result.functionCalls ?? []).map((call) => ({
          id: this.#createToolCallId(),
          name: call.functionName,
          arguments: JSON.stringify(call.params ?? {}),
        }));
        output.end();
        const finishReason =
          toolCalls.length > 0
            ? "tool_calls"
            : output.stopped
              ? "stop"
              : toFinishReason(result.metadata.stopReason);
        return { type: "done", finishReason, usage, toolCalls };
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    });
  }

  async complete(
    request: RunnerCompletionRequest,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<DoneEvent> {
    const grammar = await this.#createResponseFormatGrammar(request.responseFormat);
    return this.#withSequence(request.owner, async (sequence) => {
      const completion = new LlamaCompletion({ contextSequence: sequence });
      try {
        const promptTokens = this.#model.tokenize(request.prompt, false).length + 1;
        const maxTokens = this.#resolveMaxTokens(promptTokens, request.sampling.maxTokens);
        const meterAtStart = sequence.tokenMeter.getState();
        const output = createTextOutput(request.sampling.stop, signal, onText);
        const result = await completion.generateCompletionWithMeta(request.prompt, {
          ...toSamplingOptions(request.sampling),
          tokenBias: this.#createTokenBias(request.sampling.logitBias),
          maxTokens,
          grammar,
          signal: output.signal,
          stopOnAbortSignal: true,
          onTextChunk: output.write,
        });
        output.end();
        return {
          type: "done",
          finishReason: output.stopped ? "stop" : toFinishReason(result.metadata.stopReason),
          usage: { promptTokens, completionTokens: countSampledTokens(sequence, meterAtStart) },
          toolCalls: [],
        };
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    });
  }

  async embed(
    inputs: readonly string[],
    signal: AbortSignal,
  ): Promise<{ vectors: number[][]; promptTokens: number }> {
    this.#embeddingContext ??= this.#model.createEmbeddingContext({
      contextSize: this.info.contextSize,
      threads: this.#options.threads,
    });
    const context = await this.#embeddingContext;
    const vectors: number[][] = [];
    let promptTokens = 0;
    for (const [index, input] of inputs.entries()) {
      signal.throwIfAborted();
      const tokens = this.#model.tokenize(input);
      if (tokens.length > this.info.contextSize) {
        throw new OstromError(
          "context_length_exceeded",
          `input[${index}] has ${tokens.length} tokens; this model's context holds ${this.info.contextSize}.`,
          { param: "input" },
        );
      }
      promptTokens += tokens.length;
      const embedding = await context.getEmbeddingFor(tokens);
      vectors.push([...embedding.vector]);
    }
    return { vectors, promptTokens };
  }

  async dispose(): Promise<void> {
    await (await this.#embeddingContext)?.dispose();
    await this.#context.dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }

  async #withSequence<T>(
    owner: WorkShare | undefined,
    use: (sequence: LlamaContextSequence) => Promise<T>,
  ): Promise<T> {
    // The engine admits at most `parallel` requests, so a sequence is always free here.
    // The free sequence with the lowest id: llama.cpp decodes a step in one pass only over sequences
    // with consecutive ids (see FairBatching), so busy sequences are kept together at the low end.
    const sequence = this.#sequences.find((candidate) => this.#freeSequences.has(candidate));
    if (!sequence)
      throw new OstromError("internal_error", "No free sequence: the runner was sent too many requests.");
    this.#freeSequences.delete(sequence);
    const releaseOwner = this.#batching.assign(sequence, owner);
    try {
      // A sequence keeps its last request's tokens so that a request with the same beginning (the next
      // turn of a chat) reuses them. Whatever is not reused must be erased under the context lock, which
      // node-llama-cpp's decode loop holds while any other sequence generates: then erase it all now,
      // let in between two steps (full-decode-steps.ts), rather than wait for every running request to
      // end. Prefix reuse is kept when no other request is running.
      const othersBusy = this.#freeSequences.size < this.#sequences.length - 1;
      if (othersBusy && sequence.contextTokens.length > 0)
        await this.#batching.decodeLoop.withContextLock(() => sequence.clearHistory());
      return await use(sequence);
    } finally {
      releaseOwner();
      this.#freeSequences.add(sequence);
    }
  }

  #createTokenBias(logitBias: Record<number, number> | undefined): TokenBias | undefined {
    if (!logitBias) return undefined;
    const bias = new TokenBias(this.#model.tokenizer);
    const vocabularySize =
      this.#model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? Number.POSITIVE_INFINITY;
    for (const [token, value] of Object.entries(logitBias)) {
      const id = Number(token);
      if (id >= vocabularySize)
        throw invalidParameter(
          "logit_bias",
          `Token ${id} is not in the vocabulary (size ${vocabularySize}).`,
        );
      // node-llama-cpp ignores biases on end-of-generation tokens; refuse rather than silently ignore.
      if (this.#model.isEogToken(id as Token)) {
        throw invalidParameter(
          "logit_bias",
          `Token ${id} ends generation; this engine cannot change its bias.`,
        );
      }
      bias.set(id as Token, value <= -100 ? "never" : { logit: value });
    }
    return bias;
  }

  #resolveMaxTokens(promptTokens: number, requested: number | undefined): number {
    const contextSize = this.info.contextSize;
    if (promptTokens >= contextSize) {
      throw new OstromError(
        "context_length_exceeded",
        `This model's context holds ${contextSize} tokens; the prompt has ${promptTokens}.`,
        { param: "messages" },
      );
    }
    if (requested !== undefined && promptTokens + requested > contextSize) {
      throw new OstromError(
        "context_length_exceeded",
        `This model's context holds ${contextSize} tokens; ${promptTokens} in the prompt plus max_tokens ${requested} ` +
          `exceed it. Lower max_tokens to at most ${contextSize - promptTokens}.`,
        { param: "max_tokens" },
      );
    }
    return Math.min(requested ?? this.#options.maxOutputTokens, contextSize - promptTokens);
  }

  async #createResponseFormatGrammar(format: ResponseFormat): Promise<LlamaGrammar | undefined> {
    switch (format.type) {
      case "text":
        return undefined;
      case "json_object":
        return this.#llama.getGrammarFor("json");
      case "json_schema":
        return this.#createGrammar(format.schema, "response_format");
      default:
        return format satisfies never;
    }
  }

  /** Compiled grammars by schema text: clients repeat the same schema, and compiling costs milliseconds. */
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();

  #createGrammar(schema: object, param: string): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.#grammars.get(key);
    if (!grammar) {
      grammar = this.#compileGrammar(schema, param);
      grammar.catch(() => this.#grammars.delete(key));
      if (this.#grammars.size >= maxCachedGrammars)
        this.#grammars.delete(this.#grammars.keys().next().value!);
      this.#grammars.set(key, grammar);
    }
    return grammar;
  }

  async #compileGrammar(schema: object, param: string): Promise<LlamaGrammar> {
    try {
      // Client schemas are checked by node-llama-cpp at run time; its compile-time schema type cannot apply.
      const createGrammar = this.#llama.createGrammarForJsonSchema.bind(this.#llama) as (
        schema: object,
      ) => Promise<LlamaGrammar>;
      const generated = await createGrammar(schema);
      return await this.#llama.createGrammar({
        grammar: tightenJsonNumberRules(generated.grammar),
        stopGenerationTriggers: generated.stopGenerationTriggers,
        trimWhitespaceSuffix: generated.trimWhitespaceSuffix,
      });
    } catch (error) {
      throw invalidParameter(param, `The JSON schema cannot be enforced: ${(error as Error).message}`);
    }
  }

  #parseForcedToolCall(text: string): ToolCall | undefined {
    try {
      const parsed = JSON.parse(text) as { name: string; arguments: unknown };
      return {
        id: this.#createToolCallId(),
        name: parsed.name,
        arguments: JSON.stringify(parsed.arguments ?? {}),
      };
    } catch {
      return undefined;
    }
  }

  #createToolCallId(): string {
    this.#nextToolCallId += 1;
    return `call_${process.pid.toString(36)}_${this.#nextToolCallId.toString(36)}`;
  }
}

const llamaLogOptions = {
  logLevel: LlamaLogLevel.warn,
  logger: (level: LlamaLogLevel, message: string) => {
    if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal)
      process.stderr.write(`[llama] ${message}\n`);
  },
};

/**
 * The engine build and thread count to run with (resolve-thread-count.ts): the local OpenMP build made
 * by openmp-build.ts when it exists and more than one thread is wanted (persistent threads
 * instead of threads created per decode), else node-llama-cpp's prebuilt binaries. Never builds or
 * downloads anything.
 */
async function loadLlama(
  configuredThreads: number,
): Promise<{ llama: Llama; engineBuild: EngineBuild; threads: number }> {
  const cores = os.availableParallelism();
  const llama =
    (wantsThreadTeam(configuredThreads, cores) && (await tryOpenMpBuild())) ||
    (await getLlama(prebuiltOptions));
  const plan = resolveThreadCount({
    configured: configuredThreads,
    cores,
    openMpBuildAvailable: llama.buildType === "localBuild",
  });
  return { llama, engineBuild: plan.build, threads: plan.threads };
}

const prebuiltOptions = { gpu: false, build: "never", ...llamaLogOptions } as const;

/**
 * The local OpenMP build when it exists; otherwise the prebuilt binaries, which `getLlama` falls back
 * to (the `cmakeOptions` only name the build folder to look for). Undefined if loading failed.
 */
async function tryOpenMpBuild(): Promise<Llama | undefined> {
  try {
    return await getLlama({ ...prebuiltOptions, cmakeOptions: { GGML_OPENMP: "ON" } });
  } catch {
    return undefined;
  }
}

function toSamplingOptions(sampling: SamplingOptions) {
  const penalize =
    sampling.repeatPenalty !== undefined ||
    sampling.presencePenalty !== undefined ||
    sampling.frequencyPenalty !== undefined;
  return {
    temperature: sampling.temperature ?? 0.8,
    topP: sampling.topP,
    topK: sampling.topK,
    minP: sampling.minP,
    // Unseeded sampling must vary between requests; node-llama-cpp would otherwise reuse one seed.
    seed: sampling.seed ?? randomInt(2 ** 31),
    repeatPenalty: penalize
      ? {
          penalty: sampling.repeatPenalty ?? 1,
          presencePenalty: sampling.presencePenalty,
          frequencyPenalty: sampling.frequencyPenalty,
        }
      : (false as const),
  };
}

/**
 * Where generated text goes: through the stop-sequence filter to `onText`. When a stop sequence
 * appears, generation is ended through the returned signal (node-llama-cpp's own stop triggers
 * miss sequences that span tokens with spaces, so Ostrom matches the text itself).
 */
function createTextOutput(
  stop: readonly string[] | undefined,
  signal: AbortSignal,
  onText: (text: string) => void,
) {
  const filter = new StopSequenceFilter(stop ?? []);
  const stopController = new AbortController();
  return {
    signal: stop?.length ? AbortSignal.any([signal, stopController.signal]) : signal,
    write(text: string) {
      const safe = filter.push(text);
      if (safe !== "") onText(safe);
      if (filter.stopped) stopController.abort();
    },
    end() {
      const rest = filter.flush();
      if (rest !== "") onText(rest);
    },
    get stopped() {
      return filter.stopped;
    },
  };
}

/**
 * The tokens the model sampled on `sequence` since `start`: one per decode that produced logits. Not
 * the tokens node-llama-cpp hands to `onToken`: it holds back a token that may begin a stop trigger,
 * and one still held when `maxTokens` runs out is never handed over, so a 2-token answer could be
 * counted as 0 and escape its quota.
 */
function countSampledTokens(sequence: LlamaContextSequence, start: TokenMeterState): number {
  return sequence.tokenMeter.diff(start).usedOutputTokens;
}

function toFinishReason(stopReason: string): FinishReason {
  switch (stopReason) {
    case "maxTokens":
      return "length";
    case "abort":
      return "cancelled";
    case "functionCalls":
      return "tool_calls";
    default:
      return "stop";
  }
}

function toChatModelFunctions(tools: readonly ToolDefinition[]): ChatModelFunctions {
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      { description: tool.description, params: tool.parameters as GbnfJsonSchema | undefined },
    ]),
  );
}

/** The tools the model must call from, when the client leaves it no choice (`required` or a named function). */
function getForcedTools(
  tools: readonly ToolDefinition[],
  choice: RunnerChatRequest["toolChoice"],
): ToolDefinition[] | undefined {
  switch (choice.type) {
    case "auto":
    case "none":
      return undefined;
    case "required":
      return [...tools];
    case "function": {
      const tool = tools.find((candidate) => candidate.name === choice.name);
      if (!tool)
        throw invalidParameter("tool_choice", `tool_choice names "${choice.name}", which is not in tools.`);
      return [tool];
    }
    default:
      return choice satisfies never;
  }
}

/** A schema whose every instance is one call: `{"name": <one of the tools>, "arguments": <its parameters>}`. */
function toToolCallSchema(tools: readonly ToolDefinition[]): object {
  const variants = tools.map((tool) => ({
    type: "object",
    properties: {
      name: { const: tool.name },
      arguments: tool.parameters ?? { type: "object", properties: {} },
    },
    required: ["name", "arguments"],
  }));
  return variants.length === 1 ? variants[0]! : { oneOf: variants };
}
