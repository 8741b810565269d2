// Probes why node-llama-cpp decodes slower than llama.cpp's own llama-server on this machine: runs one
// generation per variant (threads, batching, flash attention, which API, CPU affinity, an OpenMP build
// of node-llama-cpp, ...) each in a fresh process, and prints one markdown table with every variant's
// decode rate as a ratio to llama-server at 2 threads, measured in the same run.
//
// Usage: npx tsx bench/probe-node-llama-cpp.ts [--model FILE.gguf] [--tokens 128] [--only TEXT]
//
// The OpenMP rows need a node-llama-cpp copy built from source with GGML_OPENMP=ON in
// `${OSTROM_BENCH_CACHE}/nlc-openmp` (see docs/benchmarks.md); they are skipped when it is missing.
//
// Benchmark tooling only: nothing in `src/` may import this file.

import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runToCompletion } from "./bench-process.ts";
import { ensureLlamaServer, findBuiltLlamaServer, resolveBenchCacheDir } from "./build-llama-server.ts";
import { llamaServerExactLengthBody, measureHttpStreams, startLlamaServer } from "./measure-http-streams.ts";
import type { NodeLlamaCppRunConfig, NodeLlamaCppRunResult } from "./run-node-llama-cpp.ts";

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, "..");

type ProbeRow = {
  variant: string;
  threads: string;
  decodeTokensPerSecond: number | undefined;
  timeToFirstTokenMs: number | undefined;
  cpuUtilization: number | undefined;
  tasksCreatedPerToken: number | undefined;
  peakRssMiB: number | undefined;
  note: string;
};

type NodeLlamaCppVariant = {
  name: string;
  config: Partial<NodeLlamaCppRunConfig> & Pick<NodeLlamaCppRunConfig, "threads" | "api">;
  /** Command prefix such as `taskset -c 0`. */
  wrapper?: string[];
  env?: Record<string, string>;
  needsOpenMpBuild?: boolean;
};

/** Runs one node-llama-cpp measurement in a child process and returns its result. */
export async function runNodeLlamaCppInChild(
  config: NodeLlamaCppRunConfig,
  options: { wrapper?: string[]; env?: Record<string, string>; timeoutMs: number },
): Promise<NodeLlamaCppRunResult> {
  const command = [
    ...(options.wrapper ?? []),
    process.execPath,
    "--import",
    "tsx",
    path.join(benchDir, "run-node-llama-cpp.ts"),
    JSON.stringify(config),
  ];
  const [executable = process.execPath, ...args] = command;
  const { code, output, timedOut } = await runToCompletion(executable, args, {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    timeoutMs: options.timeoutMs,
  });
  const resultLine = output.split("\n").find((line) => line.startsWith("RESULT "));
  if (resultLine === undefined) {
    const reason = timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with ${code}`;
    throw new Error(`${reason}: ${output.slice(-1500)}`);
  }
  return JSON.parse(resultLine.slice("RESULT ".length)) as NodeLlamaCppRunResult;
}

/** The CMake options the OpenMP copy of node-llama-cpp is built with; `getLlama` needs them to find it. */
export const openMpCmakeOptions = { GGML_OPENMP: "ON" } as const;

/** The node-llama-cpp copy built with GGML_OPENMP=ON, if it has been built. */
export function findOpenMpNodeLlamaCppDir(cacheDir = resolveBenchCacheDir()): string | undefined {
  const packageDir = path.join(cacheDir, "nlc-openmp", "node_modules", "node-llama-cpp");
  const localBuilds = path.join(packageDir, "llama", "localBuilds");
  if (!existsSync(localBuilds)) return undefined;
  const built = readdirSync(localBuilds).some((build) =>
    existsSync(path.join(localBuilds, build, "Release", "llama-addon.node")),
  );
  return built ? packageDir : undefined;
}

function describeThreads(threads: NodeLlamaCppRunConfig["threads"]): string {
  return typeof threads === "number" ? String(threads) : `{ideal: ${threads.ideal}, min: ${threads.min}}`;
}

/** libgomp's threads spin between parallel regions instead of sleeping, like llama-server's polling pool. */
export const activeWait = { OMP_WAIT_POLICY: "active" } as const;

const variants: NodeLlamaCppVariant[] = [
  { name: "raw evaluate", config: { api: "evaluate", threads: 1 } },
  { name: "raw evaluate", config: { api: "evaluate", threads: 2 } },
  {
    name: "raw evaluate, threads as {ideal, min}",
    config: { api: "evaluate", threads: { ideal: 2, min: 2 } },
  },
  { name: "raw evaluate, getLlama maxThreads: 2", config: { api: "evaluate", threads: 2, maxThreads: 2 } },
  { name: "raw evaluate, getLlama maxThreads: 0", config: { api: "evaluate", threads: 2, maxThreads: 0 } },
  {
    name: "raw evaluate, dispatchSchedule immediate",
    config: { api: "evaluate", threads: 1, dispatchSchedule: "immediate" },
  },
  {
    name: "raw evaluate, dispatchSchedule immediate",
    config: { api: "evaluate", threads: 2, dispatchSchedule: "immediate" },
  },
  {
    name: "raw evaluate, dispatchSchedule microtask",
    config: { api: "evaluate", threads: 1, dispatchSchedule: "microtask" },
  },
  {
    name: "raw evaluate, performanceTracking",
    config: { api: "evaluate", threads: 2, performanceTracking: true },
  },
  {
    name: "raw evaluate, flashAttention: true",
    config: { api: "evaluate", threads: 1, flashAttention: true },
  },
  {
    name: "raw evaluate, flashAttention: true",
    config: { api: "evaluate", threads: 2, flashAttention: true },
  },
  { name: "raw evaluate, swaFullCache: true", config: { api: "evaluate", threads: 2, swaFullCache: true } },
  { name: "raw evaluate, batchSize: 16", config: { api: "evaluate", threads: 2, batchSize: 16 } },
  {
    name: "raw evaluate, getLlama numa: distribute",
    config: { api: "evaluate", threads: 2, numa: "distribute" },
  },
  {
    name: "raw evaluate, JS main thread kept busy",
    config: { api: "evaluate", threads: 1, busyMainThread: true },
  },
  {
    name: "raw evaluate, JS main thread kept busy",
    config: { api: "evaluate", threads: 2, busyMainThread: true },
  },
  {
    name: "raw evaluate, taskset -c 0",
    config: { api: "evaluate", threads: 1 },
    wrapper: ["taskset", "-c", "0"],
  },
  {
    name: "raw evaluate, taskset -c 0,1",
    config: { api: "evaluate", threads: 2 },
    wrapper: ["taskset", "-c", "0,1"],
  },
  { name: "LlamaCompletion", config: { api: "completion", threads: 1 } },
  { name: "LlamaCompletion", config: { api: "completion", threads: 2 } },
  { name: "LlamaChatSession", config: { api: "chat", threads: 1 } },
  { name: "LlamaChatSession", config: { api: "chat", threads: 2 } },
  { name: "raw evaluate, 4 sequences", config: { api: "evaluate", threads: 1, streams: 4 } },
  { name: "raw evaluate, 4 sequences", config: { api: "evaluate", threads: 2, streams: 4 } },
  {
    name: "raw evaluate, 4 sequences, firstInFirstOut",
    config: { api: "evaluate", threads: 2, streams: 4, itemPrioritizationStrategy: "firstInFirstOut" },
  },
  { name: "OpenMP build: raw evaluate", config: { api: "evaluate", threads: 1 }, needsOpenMpBuild: true },
  { name: "OpenMP build: raw evaluate", config: { api: "evaluate", threads: 2 }, needsOpenMpBuild: true },
  {
    name: "OpenMP build: raw evaluate, OMP_WAIT_POLICY=passive",
    config: { api: "evaluate", threads: 2 },
    env: { OMP_WAIT_POLICY: "passive" },
    needsOpenMpBuild: true,
  },
  {
    name: "OpenMP build: raw evaluate, OMP_WAIT_POLICY=active",
    config: { api: "evaluate", threads: 1 },
    env: activeWait,
    needsOpenMpBuild: true,
  },
  {
    name: "OpenMP build: raw evaluate, OMP_WAIT_POLICY=active",
    config: { api: "evaluate", threads: 2 },
    env: activeWait,
    needsOpenMpBuild: true,
  },
  {
    name: "OpenMP build: LlamaCompletion, OMP_WAIT_POLICY=active",
    config: { api: "completion", threads: 2 },
    env: activeWait,
    needsOpenMpBuild: true,
  },
  {
    name: "OpenMP build: LlamaChatSession, OMP_WAIT_POLICY=active",
    config: { api: "chat", threads: 2 },
    env: activeWait,
    needsOpenMpBuild: true,
  },
  {
    name: "OpenMP build: raw evaluate, 4 sequences",
    config: { api: "evaluate", threads: 2, streams: 4 },
    needsOpenMpBuild: true,
  },
  {
    name: "OpenMP build: raw evaluate, 4 sequences, OMP_WAIT_POLICY=active",
    config: { api: "evaluate", threads: 2, streams: 4 },
    env: activeWait,
    needsOpenMpBuild: true,
  },
];

type ProbeArguments = { modelPath: string; maxTokens: number; only: string | undefined; repeat: number };

function parseArguments(argv: string[]): ProbeArguments {
  const readFlag = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const sharedModels = process.env.OSTROM_SHARED_MODELS ?? path.join(repoRoot, "..", "shared", "models");
  return {
    modelPath: path.resolve(readFlag("--model") ?? path.join(sharedModels, "stories260K.gguf")),
    maxTokens: Number(readFlag("--tokens") ?? 128),
    only: readFlag("--only"),
    repeat: Number(readFlag("--repeat") ?? 3),
  };
}

/** Runs `measure` `times` times and keeps the fastest: other load on a shared machine only slows runs down. */
export async function keepBest<Result extends { decodeTokensPerSecond: number | undefined }>(
  times: number,
  measure: () => Promise<Result>,
): Promise<Result> {
  let best: Result | undefined;
  for (let attempt = 0; attempt < Math.max(1, times); attempt++) {
    const result = await measure();
    if (best === undefined || (result.decodeTokensPerSecond ?? 0) > (best.decodeTokensPerSecond ?? 0))
      best = result;
  }
  if (best === undefined) throw new Error("no measurement");
  return best;
}

function formatNumber(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

async function main(): Promise<void> {
  const { modelPath, maxTokens, only, repeat } = parseArguments(process.argv.slice(2));
  const loadBefore = os.loadavg()[0] ?? 0;
  const prompt = "Once upon a time";
  const rows: ProbeRow[] = [];
  const log = (message: string) => console.error(`[probe] ${message}`);

  for (const variant of ["openmp-off", "openmp-on"] as const) {
    // The OpenMP=ON server is optional: used when `build-llama-server.ts --variant all` has built it.
    const executable =
      variant === "openmp-off"
        ? (await ensureLlamaServer({ variant, verbose: false })).serverPath
        : findBuiltLlamaServer(variant);
    if (executable === undefined) continue;
    for (const threads of [1, 2]) {
      const name = `llama-server (${variant === "openmp-off" ? "GGML_OPENMP=OFF" : "GGML_OPENMP=ON"})`;
      // The baseline rows always run: every ratio needs them.
      log(`${name}, ${threads} threads`);
      const server = await startLlamaServer({ serverPath: executable, modelPath, threads, parallel: 1 });
      try {
        const summary = await keepBest(repeat, () =>
          measureHttpStreams({
            baseUrl: server.baseUrl,
            model: "bench",
            prompt,
            maxTokens,
            streams: 1,
            extraBody: llamaServerExactLengthBody,
            timeoutMs: 120_000,
          }),
        );
        rows.push({
          variant: name,
          threads: String(threads),
          decodeTokensPerSecond: summary.decodeTokensPerSecond,
          timeToFirstTokenMs: summary.timeToFirstTokenMs,
          cpuUtilization: undefined,
          tasksCreatedPerToken: undefined,
          peakRssMiB: server.peakRssMiB(),
          note: `${summary.tokensPerStream.join("+")} tokens`,
        });
      } finally {
        await server.stop();
      }
    }
  }

  const openMpDir = findOpenMpNodeLlamaCppDir();
  for (const variant of variants) {
    if (only !== undefined && !variant.name.includes(only)) continue;
    const threads = describeThreads(variant.config.threads);
    const streams = variant.config.streams ?? 1;
    const row: ProbeRow = {
      variant: streams > 1 ? `${variant.name} (aggregate)` : variant.name,
      threads,
      decodeTokensPerSecond: undefined,
      timeToFirstTokenMs: undefined,
      cpuUtilization: undefined,
      tasksCreatedPerToken: undefined,
      peakRssMiB: undefined,
      note: "",
    };
    if (variant.needsOpenMpBuild === true && openMpDir === undefined) {
      rows.push({ ...row, note: "skipped: no OpenMP build of node-llama-cpp in the cache" });
      continue;
    }
    log(`${variant.name}, threads ${threads}`);
    try {
      const result = await keepBest(repeat, () =>
        runNodeLlamaCppInChild(
          {
            modelPath,
            maxTokens,
            prompt,
            ...variant.config,
            ...(variant.needsOpenMpBuild === true && openMpDir !== undefined
              ? { nodeLlamaCppDir: openMpDir, cmakeOptions: openMpCmakeOptions }
              : {}),
          },
          {
            timeoutMs: 180_000,
            ...(variant.wrapper === undefined ? {} : { wrapper: variant.wrapper }),
            ...(variant.env === undefined ? {} : { env: variant.env }),
          },
        ),
      );
      rows.push({
        ...row,
        decodeTokensPerSecond: result.decodeTokensPerSecond,
        timeToFirstTokenMs: result.timeToFirstTokenMs,
        cpuUtilization: result.cpuUtilization,
        tasksCreatedPerToken: result.tasksCreatedPerToken,
        peakRssMiB: result.peakRssMiB,
        note: `${result.tokensPerStream.join("+")} tokens, ${result.threadsUsed} threads used, ${result.buildType} binary`,
      });
    } catch (error) {
      rows.push({ ...row, note: `failed: ${String(error).split("\n")[0]}` });
    }
  }

  const baseline = rows.find(
    (row) => row.variant.startsWith("llama-server (GGML_OPENMP=OFF)") && row.threads === "2",
  );
  const loadAfter = os.loadavg()[0] ?? 0;
  console.log(
    `\nModel: ${path.basename(modelPath)}, ${maxTokens} new tokens, greedy, one process per row, best of ${repeat}. ` +
      `1-minute load average: ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after.`,
  );
  console.log("Ratio: decode tok/s relative to llama-server (GGML_OPENMP=OFF) at 2 threads, same run.\n");
  console.log(
    "| variant | threads | decode tok/s | ratio | TTFT ms | CPU cores busy | threads created / token | peak RSS MiB | note |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---|");
  for (const row of rows) {
    const ratio =
      baseline?.decodeTokensPerSecond !== undefined && row.decodeTokensPerSecond !== undefined
        ? (row.decodeTokensPerSecond / baseline.decodeTokensPerSecond).toFixed(2)
        : "–";
    console.log(
      `| ${row.variant} | ${row.threads} | ${formatNumber(row.decodeTokensPerSecond)} | ${ratio} | ` +
        `${formatNumber(row.timeToFirstTokenMs, 1)} | ${formatNumber(row.cpuUtilization, 2)} | ` +
        `${formatNumber(row.tasksCreatedPerToken, 2)} | ${formatNumber(row.peakRssMiB)} | ${row.note} |`,
    );
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
  process.exit(0);
}
