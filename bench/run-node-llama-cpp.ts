// One node-llama-cpp generation measurement, run in its own process so that its peak RSS and CPU time
// are its own: `tsx bench/run-node-llama-cpp.ts '<json NodeLlamaCppRunConfig>'` prints one line
// `RESULT <json NodeLlamaCppRunResult>`. Used by probe-node-llama-cpp.ts and engine.ts.
//
// Benchmark tooling only: nothing in `src/` may import this file.

import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as NodeLlamaCpp from "node-llama-cpp";
import type { LlamaContextOptions, LlamaContextSequence, Token } from "node-llama-cpp";
import {
  readCpuSeconds,
  readLastPid,
  readPeakRssMiB,
  type StreamsSummary,
  type StreamTiming,
  summarizeStreams,
} from "./bench-process.ts";

/** How the generated tokens are produced: raw sequence evaluation, LlamaCompletion or LlamaChatSession. */
export type NodeLlamaCppApi = "evaluate" | "completion" | "chat";

export type NodeLlamaCppRunConfig = {
  modelPath: string;
  /**
   * A node-llama-cpp package directory to load instead of the project's own, e.g. a copy built from
   * source with different CMake options. Default: the project's `node-llama-cpp`.
   */
  nodeLlamaCppDir?: string;
  /**
   * `cmakeOptions` of `getLlama`: they name the local build to load, so they must match the options the
   * copy in `nodeLlamaCppDir` was built with (e.g. `{GGML_OPENMP: "ON"}`). Default: none.
   */
  cmakeOptions?: Record<string, string>;
  /** `numa` of `getLlama`. Default: false. */
  numa?: "distribute" | "isolate" | "numactl" | "mirror" | false;
  /** `threads` of `createContext`. */
  threads: number | { ideal: number; min: number };
  /** `maxThreads` of `getLlama`. Default: node-llama-cpp's own (max(4, cpuMathCores) without a GPU). */
  maxThreads?: number;
  api: NodeLlamaCppApi;
  /** Concurrent streams, each on its own sequence of one context. Default: 1. */
  streams?: number;
  maxTokens: number;
  prompt: string;
  contextSize?: number;
  batchSize?: number;
  /** `"immediate"` dispatches synchronously, `"microtask"` via queueMicrotask; else node-llama-cpp's own. */
  dispatchSchedule?: "nextCycle" | "immediate" | "microtask";
  itemPrioritizationStrategy?: "maximumParallelism" | "firstInFirstOut";
  performanceTracking?: boolean;
  flashAttention?: boolean;
  swaFullCache?: boolean;
  /** Keep the JavaScript main thread busy during generation, to see whether it competes with ggml. */
  busyMainThread?: boolean;
};

export type NodeLlamaCppRunResult = StreamsSummary & {
  /** `"prebuilt"` or `"localBuild"`: which node-llama-cpp binary ran. */
  buildType: string;
  threadsUsed: number;
  loadMs: number;
  peakRssMiB: number | undefined;
  /** Process CPU seconds during the measured generation divided by its wall time (2.0 = both cores busy). */
  cpuUtilization: number;
  /** Threads/processes created system-wide per generated token during the measured generation. */
  tasksCreatedPerToken: number;
  text: string;
};

export async function runNodeLlamaCpp(config: NodeLlamaCppRunConfig): Promise<NodeLlamaCppRunResult> {
  const nodeLlamaCpp = await importNodeLlamaCpp(config.nodeLlamaCppDir);
  const { LlamaLogLevel } = nodeLlamaCpp;
  const loadStartedAt = performance.now();
  const llama = await nodeLlamaCpp.getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.error,
    ...(config.numa === undefined ? {} : { numa: config.numa }),
    ...(config.cmakeOptions === undefined ? {} : { cmakeOptions: config.cmakeOptions }),
    ...(config.maxThreads === undefined ? {} : { maxThreads: config.maxThreads }),
  });
  if (config.nodeLlamaCppDir !== undefined && llama.buildType !== "localBuild") {
    throw new Error(`expected the local build in ${config.nodeLlamaCppDir}, got a ${llama.buildType} binary`);
  }
  const model = await llama.loadModel({ modelPath: config.modelPath });
  const streams = config.streams ?? 1;
  const contextOptions: LlamaContextOptions = {
    sequences: streams,
    contextSize: config.contextSize ?? 1024,
    threads: config.threads,
    batching: {
      dispatchSchedule: resolveDispatchSchedule(config.dispatchSchedule),
      itemPrioritizationStrategy: config.itemPrioritizationStrategy ?? "maximumParallelism",
    },
    performanceTracking: config.performanceTracking ?? false,
    ...(config.batchSize === undefined ? {} : { batchSize: config.batchSize }),
    ...(config.flashAttention === undefined ? {} : { flashAttention: config.flashAttention }),
    ...(config.swaFullCache === undefined ? {} : { swaFullCache: config.swaFullCache }),
  };
  const context = await model.createContext(contextOptions);
  const loadMs = performance.now() - loadStartedAt;

  const generators = Array.from({ length: streams }, (_, index) => {
    const sequence = context.getSequence();
    return createStreamGenerator(nodeLlamaCpp, config, sequence, index);
  });
  // Warm-up: a short generation on every stream, so that lazy allocations are not measured.
  await Promise.all(generators.map((generate) => generate(8)));

  let stopBusyLoop = false;
  if (config.busyMainThread === true) {
    const spin = () => {
      const until = performance.now() + 2;
      while (performance.now() < until) {
        // burn the main thread in 2 ms slices, yielding to the event loop between slices
      }
      if (!stopBusyLoop) setImmediate(spin);
    };
    setImmediate(spin);
  }
  const cpuBefore = readCpuSeconds();
  const lastPidBefore = readLastPid();
  const startedAt = performance.now();
  const timings = await Promise.all(generators.map((generate) => generate(config.maxTokens, startedAt)));
  const wallMs = performance.now() - startedAt;
  const cpuSeconds = readCpuSeconds() - cpuBefore;
  const tasksCreated = readLastPid() - lastPidBefore;
  stopBusyLoop = true;

  const summary = summarizeStreams(timings);
  const totalTokens = timings.reduce((sum, timing) => sum + timing.tokens, 0);
  const result: NodeLlamaCppRunResult = {
    ...summary,
    buildType: llama.buildType,
    threadsUsed: context.currentThreads,
    loadMs,
    peakRssMiB: readPeakRssMiB(process.pid),
    cpuUtilization: cpuSeconds / (wallMs / 1000),
    tasksCreatedPerToken: totalTokens === 0 ? 0 : tasksCreated / totalTokens,
    text: timings[0]?.text ?? "",
  };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return result;
}

function importNodeLlamaCpp(packageDir: string | undefined): Promise<typeof NodeLlamaCpp> {
  if (packageDir === undefined) return import("node-llama-cpp");
  return import(pathToFileURL(path.join(packageDir, "dist", "index.js")).href) as Promise<
    typeof NodeLlamaCpp
  >;
}

function resolveDispatchSchedule(
  schedule: NodeLlamaCppRunConfig["dispatchSchedule"],
): NonNullable<LlamaContextOptions["batching"]>["dispatchSchedule"] {
  switch (schedule) {
    case undefined:
    case "nextCycle":
      return "nextCycle";
    case "immediate":
      return (dispatch) => dispatch();
    case "microtask":
      return (dispatch) => queueMicrotask(dispatch);
    default:
      return schedule satisfies never;
  }
}

/** Returns a function that generates `maxTokens` tokens on one sequence from a fresh history and times them. */
function createStreamGenerator(
  { LlamaChatSession, LlamaCompletion }: typeof NodeLlamaCpp,
  config: NodeLlamaCppRunConfig,
  sequence: LlamaContextSequence,
  index: number,
): (maxTokens: number, startedAt?: number) => Promise<StreamTiming> {
  const model = sequence.model;
  // A different prompt per stream, so that no stream can reuse another's work.
  const prompt = index === 0 ? config.prompt : `${config.prompt} ${index}`;
  switch (config.api) {
    case "evaluate":
      return async (maxTokens, startedAt = performance.now()) => {
        await sequence.clearHistory();
        const timing: StreamTiming = { firstTokenMs: undefined, lastTokenMs: undefined, tokens: 0, text: "" };
        const generated: Token[] = [];
        const bos = model.tokens.bos;
        const tokens = [...(bos === null ? [] : [bos]), ...model.tokenize(prompt)];
        for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
          const now = performance.now() - startedAt;
          timing.firstTokenMs ??= now;
          timing.lastTokenMs = now;
          timing.tokens++;
          generated.push(token);
          if (timing.tokens >= maxTokens) break;
        }
        timing.text = model.detokenize(generated);
        return timing;
      };
    case "completion": {
      const completion = new LlamaCompletion({ contextSequence: sequence });
      return async (maxTokens, startedAt = performance.now()) => {
        await sequence.clearHistory();
        const { timing, onToken } = createTokenTimer(startedAt);
        timing.text = await completion.generateCompletion(prompt, { maxTokens, temperature: 0, onToken });
        return timing;
      };
    }
    case "chat": {
      const session = new LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false });
      return async (maxTokens, startedAt = performance.now()) => {
        session.resetChatHistory();
        await sequence.clearHistory();
        const { timing, onToken } = createTokenTimer(startedAt);
        timing.text = await session.prompt(prompt, { maxTokens, temperature: 0, onToken });
        return timing;
      };
    }
    default:
      return config.api satisfies never;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const config = JSON.parse(process.argv[2] ?? "") as NodeLlamaCppRunConfig;
  const result = await runNodeLlamaCpp(config);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

/** Records when each streamed token arrived, relative to `startedAt`. */
function createTokenTimer(startedAt: number): {
  timing: StreamTiming;
  onToken: (chunk: readonly unknown[]) => void;
} {
  const timing: StreamTiming = { firstTokenMs: undefined, lastTokenMs: undefined, tokens: 0, text: "" };
  const onToken = (chunk: readonly unknown[]) => {
    const now = performance.now() - startedAt;
    timing.firstTokenMs ??= now;
    timing.lastTokenMs = now;
    timing.tokens += chunk.length;
  };
  return { timing, onToken };
}
