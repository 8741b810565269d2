// The local engine: GGUF models run by node-llama-cpp, one runner process per loaded model. Models
// load on demand after their header is validated and their memory need estimated, stay loaded for
// `keepAliveMs` after their last request, and make room for others least-recently-used first.
import os from "node:os";
import { OstromError } from "../../errors.ts";
import { estimateModelMemory } from "../../gguf/estimate-model-memory.ts";
import { readGgufInfo } from "../../gguf/read-gguf.ts";
import { summarizeGguf } from "../../gguf/summarize-gguf.ts";
import type { CancelSignal } from "../../util/cancel-signal.ts";
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  Engine,
  GenerationEvent,
  LoadedModelInfo,
  ModelHandle,
} from "../engine.ts";
import { ModelRunner } from "./model-runner.ts";
import type { RunnerModelInfo } from "./runner-protocol.ts";

export interface LocalEngineOptions {
  /** CPU threads per model; 0 lets each runner choose from the cores it has. */
  threads: number;
  /** Context window per request, in tokens (capped at the model's). */
  contextSize: number;
  /** Requests per model served at once, batched. */
  parallel: number;
  /** Requests per model that may wait for a slot. */
  maxQueue: number;
  /** Idle time before a model is unloaded. */
  keepAliveMs: number;
  maxLoadedModels: number;
  /** Bytes all loaded models may use; 0 means what the system reports as available. */
  memoryLimit: number;
  maxOutputTokens: number;
  log?: (message: string) => void;
}

interface LoadedModel {
  runner: ModelRunner;
  memoryBytes: number;
  lastUsed: number;
  idleTimer: NodeJS.Timeout | undefined;
  expiresAt: number | undefined;
  /** The `#generation` it was started in; an older one is unloaded as soon as it is idle. */
  generation: number;
}

export class LocalEngine implements Engine {
  readonly #options: LocalEngineOptions;
  readonly #loaded = new Map<string, LoadedModel>();
  readonly #loading = new Map<string, Promise<LoadedModel>>();
  #pendingRequests = 0;
  #disposed = false;
  /** Bumped by `reloadWhenIdle`: runners started before it are replaced once idle. */
  #generation = 0;
  /** Aborts runners still loading when the engine is disposed. */
  readonly #disposeController = new AbortController();

  constructor(options: LocalEngineOptions) {
    this.#options = options;
  }

  get pendingRequests(): number {
    return this.#pendingRequests;
  }

  chat(request: ChatRequest, signal: CancelSignal): AsyncIterable<GenerationEvent> {
    const { model, ...rest } = request;
    return this.#generate(model, signal, (runner) => runner.chat(rest, signal));
  }

  complete(request: CompletionRequest, signal: CancelSignal): AsyncIterable<GenerationEvent> {
    const { model, ...rest } = request;
    return this.#generate(model, signal, (runner) => runner.complete(rest, signal));
  }

  async embed(request: EmbeddingRequest, signal: CancelSignal): Promise<EmbeddingResult> {
    this.#pendingRequests += 1;
    try {
      const loaded = await this.#getLoaded(request.model, signal);
      const result = await loaded.runner.embed(request.inputs, signal);
      return { vectors: result.vectors, usage: { promptTokens: result.promptTokens } };
    } finally {
      this.#pendingRequests -= 1;
    }
  }

  async load(model: ModelHandle, signal: CancelSignal): Promise<void> {
    const loaded = await this.#getLoaded(model, signal);
    this.#scheduleUnload(model.digest, loaded);
  }

  async unload(digest: string): Promise<void> {
    const loaded = this.#loaded.get(digest);
    if (!loaded) return;
    this.#loaded.delete(digest);
    clearTimeout(loaded.idleTimer);
    await loaded.runner.stop();
  }

  /**
   * Unloads every model now or, when busy, as soon as it is idle, so that its next request starts a new
   * runner: used when a faster engine build has been installed. Requests keep being served meanwhile.
   */
  reloadWhenIdle(): void {
    this.#generation += 1;
    for (const [digest, loaded] of this.#loaded) if (loaded.runner.idle) void this.unload(digest);
  }

  listLoaded(): LoadedModelInfo[] {
    return [...this.#loaded.entries()].map(([digest, loaded]) => ({
      ref: loaded.runner.ref,
      digest,
      contextSize: loaded.runner.info.contextSize,
      parallel: loaded.runner.info.parallel,
      activeRequests: loaded.runner.activeRequests,
      queuedRequests: loaded.runner.queuedRequests,
      cancelledRequests: loaded.runner.cancelledRequests,
      peakActiveRequests: loaded.runner.peakActiveRequests,
      memoryBytes: loaded.memoryBytes,
      pid: loaded.runner.pid,
      expiresAt: loaded.expiresAt === undefined ? undefined : new Date(loaded.expiresAt).toISOString(),
    }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    this.#disposeController.abort();
    await Promise.allSettled([...this.#loading.values()]);
    await Promise.all([...this.#loaded.keys()].map((digest) => this.unload(digest)));
  }

  async *#generate(
    model: ModelHandle,
    signal: CancelSignal,
    run: (runner: ModelRunner) => AsyncIterable<GenerationEvent>,
  ): AsyncGenerator<GenerationEvent> {
    this.#pendingRequests += 1;
    try {
      const loaded = await this.#getLoaded(model, signal);
      yield* run(loaded.runner);
    } finally {
      this.#pendingRequests -= 1;
    }
  }

  async #getLoaded(model: ModelHandle, signal: CancelSignal): Promise<LoadedModel> {
    if (this.#disposed) throw new OstromError("shutting_down", "The engine is shutting down.");
    const existing = this.#loaded.get(model.digest);
    if (existing?.runner.alive) {
      existing.lastUsed = Date.now();
      clearTimeout(existing.idleTimer);
      existing.idleTimer = undefined;
      existing.expiresAt = undefined;
      return existing;
    }
    let loading = this.#loading.get(model.digest);
    if (!loading) {
      // Loading is shared by every request for this model, so one client giving up must not cancel it.
      loading = this.#startRunner(model).finally(() => this.#loading.delete(model.digest));
      this.#loading.set(model.digest, loading);
    }
    const loaded = await abortable(loading, signal);
    loaded.lastUsed = Date.now();
    return loaded;
  }

  async #startRunner(model: ModelHandle): Promise<LoadedModel> {
    const generation = this.#generation;
    const info = await readGgufInfo(model.path);
    const contextSize = Math.min(
      this.#options.contextSize,
      summarizeGguf(info).contextLength ?? Number.POSITIVE_INFINITY,
    );
    const memoryBytes = estimateModelMemory(info, { contextSize, sequences: this.#options.parallel });
    await this.#makeRoom(model, memoryBytes, contextSize);

    const runner = await ModelRunner.start(
      {
        ref: model.ref,
        maxQueue: this.#options.maxQueue,
        load: {
          modelPath: model.path,
          contextSize,
          parallel: this.#options.parallel,
          threads: this.#options.threads,
          maxOutputTokens: this.#options.maxOutputTokens,
        },
        onIdle: () => {
          const loaded = this.#loaded.get(model.digest);
          if (loaded?.runner === runner) this.#scheduleUnload(model.digest, loaded);
        },
        onExit: () => {
          const loaded = this.#loaded.get(model.digest);
          if (loaded?.runner === runner) {
            clearTimeout(loaded.idleTimer);
            this.#loaded.delete(model.digest);
            this.#options.log?.(`model ${model.ref} unloaded (runner pid ${runner.pid} exited)`);
          }
        },
      },
      this.#disposeController.signal,
    );
    const loaded: LoadedModel = {
      runner,
      memoryBytes,
      lastUsed: Date.now(),
      idleTimer: undefined,
      expiresAt: undefined,
      generation,
    };
    this.#loaded.set(model.digest, loaded);
    this.#options.log?.(
      `model ${model.ref} loaded (pid ${runner.pid}, context ${runner.info.contextSize} × ${runner.info.parallel}, ` +
        `${runner.info.threads} threads, ${runner.info.engineBuild} engine, ~${formatMiB(memoryBytes)} estimated)` +
        describeEngineUpgrade(runner.info, this.#options.threads),
    );
    return loaded;
  }

  /** Unloads idle models, least recently used first, until the new one fits by count and memory. */
  async #makeRoom(model: ModelHandle, neededBytes: number, contextSize: number): Promise<void> {
    const limit = this.#options.memoryLimit;
    const available = () =>
      limit > 0 ? limit - sum([...this.#loaded.values()].map((loaded) => loaded.memoryBytes)) : os.freemem();
    const fits = () => this.#loaded.size < this.#options.maxLoadedModels && neededBytes <= available();

    const idleByAge = [...this.#loaded.entries()]
      .filter(([, loaded]) => loaded.runner.idle)
      .sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [digest] of idleByAge) {
      if (fits()) break;
      await this.unload(digest);
    }
    if (neededBytes > available()) {
      throw new OstromError(
        "insufficient_memory",
        `${model.ref} needs about ${formatMiB(neededBytes)} (weights plus context for ${this.#options.parallel} ` +
          `requests of ${contextSize} tokens) but only ${formatMiB(Math.max(0, available()))} is available. ` +
          "Lower --context-size or --parallel, unload other models, or raise --memory-limit.",
      );
    }
    if (this.#loaded.size >= this.#options.maxLoadedModels) {
      throw new OstromError(
        "insufficient_memory",
        `${this.#loaded.size} models are loaded and busy (--max-loaded-models ${this.#options.maxLoadedModels}); ` +
          "retry when one is idle.",
        { retryAfterSeconds: 5 },
      );
    }
  }

  #scheduleUnload(digest: string, loaded: LoadedModel): void {
    clearTimeout(loaded.idleTimer);
    if (!loaded.runner.idle) return;
    if (loaded.generation !== this.#generation) {
      void this.unload(digest);
      return;
    }
    loaded.expiresAt = Date.now() + this.#options.keepAliveMs;
    loaded.idleTimer = setTimeout(() => {
      if (this.#loaded.get(digest) === loaded && loaded.runner.idle) void this.unload(digest);
    }, this.#options.keepAliveMs);
    loaded.idleTimer.unref();
  }
}

function abortable<T>(promise: Promise<T>, signal: CancelSignal): Promise<T> {
  if (signal.aborted)
    return Promise.reject(new OstromError("request_cancelled", "The request was cancelled."));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new OstromError("request_cancelled", "The request was cancelled."));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function formatMiB(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/**
 * A hint when a model runs on fewer cores than it could for want of the OpenMP build: with auto threads
 * on several cores, a runner is on the prebuilt engine only when that build is missing.
 */
function describeEngineUpgrade(info: RunnerModelInfo, configuredThreads: number): string {
  const cores = os.availableParallelism();
  if (configuredThreads !== 0 || info.engineBuild !== "prebuilt" || info.threads >= cores) return "";
  return (
    `; the OpenMP engine build would let models use all ${cores} cores (~1.45x faster decoding on a 1.7B ` +
    "model here, docs/benchmarks.md): `ostrom serve` builds it in the background unless --engine-build off, " +
    "or run `ostrom build-engine`"
  );
}
