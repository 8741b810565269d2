// The engine benchmark (`npm run bench:engine`): in one run, on stories260K and on a random-weight model
// of SmolLM2-135M's shape (Q8_0), measures decode speed, time to first token and peak RSS of
//   - llama.cpp's own llama-server (1 stream with -np 1; 4 concurrent streams with -np 4), the baseline,
//   - node-llama-cpp used directly (raw `sequence.evaluate()`, 1 stream and 4 sequences of one context),
//     with its prebuilt binaries and, when built, a copy built from source with GGML_OPENMP=ON,
//   - `ostrom run` (the CLI) and `ostrom serve` (streamed /v1/completions, 1 and 4 concurrent),
// each at its best thread count (1 or 2), and prints a markdown table with every row's decode rate as
// a ratio to llama-server single-stream. A benchmark reports; it asserts nothing.
//
// Usage: npm run bench:engine [-- --tokens 128] [-- --models stories,smollm[,smollm-1.7b]] [-- --threads 1,2]
// Environment: OSTROM_SHARED_MODELS (default ../shared/models), OSTROM_BENCH_CACHE (default
// ~/.cache/ostrom-bench) for the llama-server build and the generated model.
//
// Benchmark tooling only: nothing in `src/` may import this file.

import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  createRandomLlamaGguf,
  type RandomLlamaShape,
  smolLM2_135MShape,
} from "../src/gguf/create-random-llama.ts";
import {
  readTreeRssMiB,
  runToCompletion,
  type StreamsSummary,
  type StreamTiming,
  spawnTracked,
  stopProcess,
  trackTreePeakRss,
} from "./bench-process.ts";
import { ensureLlamaServer, findBuiltLlamaServer, resolveBenchCacheDir } from "./build-llama-server.ts";
import {
  llamaServerExactLengthBody,
  measureHttpStreams,
  type StartedServer,
  startLlamaServer,
  startServer,
} from "./measure-http-streams.ts";
import {
  activeWait,
  findOpenMpNodeLlamaCppDir,
  openMpCmakeOptions,
  runNodeLlamaCppInChild,
} from "./probe-node-llama-cpp.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ostromBin = path.join(repoRoot, "bin", "ostrom.js");
const prompt = "Once upon a time";

type BenchModel = { label: string; name: string; path: string };

/** One measurement at one thread count. */
type Measurement = {
  decodeTokensPerSecond: number | undefined;
  timeToFirstTokenMs: number | undefined;
  peakRssMiB: number | undefined;
  tokensPerStream: number[];
};

type Row = {
  model: string;
  engine: string;
  streams: number;
  /** The thread count of the reported measurement, and what every tried count gave. */
  threads: number | undefined;
  threadNote: string;
  measurement: Measurement | undefined;
  /** A note: what TTFT includes, why a row was skipped, early stops. */
  note: string;
  isBaseline?: boolean;
};

type BenchArguments = { maxTokens: number; modelFilter: string[]; threadCounts: number[] };

function parseArguments(argv: string[]): BenchArguments {
  const readFlag = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  return {
    maxTokens: Number(readFlag("--tokens") ?? 128),
    modelFilter: (readFlag("--models") ?? "stories,smollm").split(","),
    threadCounts: (readFlag("--threads") ?? "1,2").split(",").map(Number),
  };
}

const log = (message: string) => console.error(`[bench:engine] ${message}`);

/** Runs `measure` at every thread count and keeps the fastest decode. */
async function measureAtBestThreads(
  threadCounts: number[],
  measure: (threads: number) => Promise<Measurement>,
): Promise<{
  threads: number | undefined;
  threadNote: string;
  measurement: Measurement | undefined;
  error?: string;
}> {
  let best: { threads: number; measurement: Measurement } | undefined;
  const notes: string[] = [];
  let lastError: string | undefined;
  for (const threads of threadCounts) {
    try {
      const measurement = await measure(threads);
      notes.push(`${threads}t: ${formatNumber(measurement.decodeTokensPerSecond)}`);
      if (
        best === undefined ||
        (measurement.decodeTokensPerSecond ?? 0) > (best.measurement.decodeTokensPerSecond ?? 0)
      ) {
        best = { threads, measurement };
      }
    } catch (error) {
      lastError = String(error).split("\n")[0] ?? String(error);
      notes.push(`${threads}t: failed`);
      log(`failed at ${threads} threads: ${String(error).slice(0, 2000)}`);
    }
  }
  return {
    threads: best?.threads,
    threadNote: notes.join(", "),
    measurement: best?.measurement,
    ...(lastError === undefined ? {} : { error: lastError }),
  };
}

async function measureServer(
  start: () => Promise<StartedServer>,
  request: { model: string; maxTokens: number; streams: number; extraBody?: Record<string, unknown> },
): Promise<Measurement> {
  const server = await start();
  const stopTracking = trackTreePeakRss(server.child.pid);
  try {
    const summary = await measureHttpStreams({
      baseUrl: server.baseUrl,
      model: request.model,
      prompt,
      maxTokens: request.maxTokens,
      streams: request.streams,
      timeoutMs: 300_000,
      ...(request.extraBody === undefined ? {} : { extraBody: request.extraBody }),
    });
    return { ...toMeasurement(summary), peakRssMiB: stopTracking() };
  } finally {
    stopTracking();
    await server.stop();
  }
}

function toMeasurement(summary: StreamsSummary): Measurement {
  return {
    decodeTokensPerSecond: summary.decodeTokensPerSecond,
    timeToFirstTokenMs: summary.timeToFirstTokenMs,
    peakRssMiB: undefined,
    tokensPerStream: summary.tokensPerStream,
  };
}

/** SmolLM2-1.7B's shape (24 layers, width 2048, 32 heads, FFN 8192), for thread-count decisions on a larger model. */
const smolLM2_1_7BShape = {
  ...smolLM2_135MShape,
  blockCount: 24,
  embeddingLength: 2048,
  headCount: 32,
  headCountKv: 32,
  feedForwardLength: 8192,
};

/** A random-weight model of `shape`, generated into the cache on first use (135M: ~1 s; 1.7B: ~40 s, 1.8 GB). */
async function ensureShapedModel(
  cacheDir: string,
  fileName: string,
  shape: RandomLlamaShape,
): Promise<string> {
  const modelPath = path.join(cacheDir, fileName);
  if (!existsSync(modelPath)) {
    log(`generating ${modelPath}`);
    mkdirSync(cacheDir, { recursive: true });
    await createRandomLlamaGguf(modelPath, shape);
  }
  return modelPath;
}

type OstromState = { available: true } | { available: false; reason: string };

/** Builds Ostrom (`npm run build`) if its CLI exists; otherwise says why the Ostrom rows are skipped. */
async function prepareOstrom(): Promise<OstromState> {
  if (!existsSync(ostromBin))
    return { available: false, reason: "skipped: bin/ostrom.js does not exist yet" };
  log("npm run build");
  const build = await runToCompletion("npm", ["run", "build", "--silent"], {
    cwd: repoRoot,
    timeoutMs: 300_000,
  });
  if (build.code !== 0) {
    return {
      available: false,
      reason: `skipped: npm run build failed: ${build.output.trim().split("\n")[0] ?? ""}`,
    };
  }
  return { available: true };
}

function ostromEnv(dataDir: string, threads: number | undefined, maxTokens: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OSTROM_HOME: dataDir,
    OSTROM_MAX_OUTPUT_TOKENS: String(maxTokens),
    ...(threads === undefined ? {} : { OSTROM_THREADS: String(threads) }),
  };
}

async function importIntoOstrom(dataDir: string, model: BenchModel): Promise<void> {
  const result = await runToCompletion(
    process.execPath,
    [ostromBin, "import", model.path, "--name", model.name, "--data-dir", dataDir],
    { cwd: repoRoot, env: ostromEnv(dataDir, undefined, 128), timeoutMs: 120_000 },
  );
  if (result.code !== 0) throw new Error(`ostrom import failed: ${result.output.trim().slice(-500)}`);
}

/**
 * Times `ostrom run MODEL PROMPT --raw --temperature 0 --max-tokens N --verbose`. Decode rate: the
 * completion tokens the CLI reports (--verbose, on stderr) over the span from the first to the last
 * stdout chunk. TTFT is from process start, so it includes Node start-up and model loading.
 */
async function measureOstromRun(
  dataDir: string,
  model: BenchModel,
  threads: number,
  maxTokens: number,
): Promise<Measurement> {
  const startedAt = performance.now();
  const timing: StreamTiming = { firstTokenMs: undefined, lastTokenMs: undefined, tokens: 0, text: "" };
  const child = spawnTracked(
    process.execPath,
    [
      ostromBin,
      "run",
      model.name,
      prompt,
      "--raw",
      "--temperature",
      "0",
      "--max-tokens",
      String(maxTokens),
      "--verbose",
      "--data-dir",
      dataDir,
      "--threads",
      String(threads),
    ],
    { cwd: repoRoot, env: ostromEnv(dataDir, threads, maxTokens) },
  );
  const stopTracking = trackTreePeakRss(child.pid);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    if (text.trim() === "") return; // the final newline
    const now = performance.now() - startedAt;
    timing.firstTokenMs ??= now;
    timing.lastTokenMs = now;
    timing.tokens++;
    timing.text += text;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  const peakRssMiB = stopTracking();
  if (code !== 0) throw new Error(`ostrom run exited with ${code}: ${stderr.trim().slice(-500)}`);
  const reported = /(\d+) completion tokens/.exec(stderr);
  const completionTokens = reported?.[1] === undefined ? timing.tokens : Number(reported[1]);
  const spanMs = (timing.lastTokenMs ?? 0) - (timing.firstTokenMs ?? 0);
  return {
    decodeTokensPerSecond: spanMs > 0 ? ((completionTokens - 1) * 1000) / spanMs : undefined,
    timeToFirstTokenMs: timing.firstTokenMs,
    peakRssMiB,
    tokensPerStream: [completionTokens],
  };
}

function startOstromServe(
  dataDir: string,
  threads: number | undefined,
  maxTokens: number,
): Promise<StartedServer> {
  return startServer({
    command: process.execPath,
    args: (port) => [
      ostromBin,
      "serve",
      "--port",
      String(port),
      "--data-dir",
      dataDir,
      "--engine-build",
      "off",
      ...(threads === undefined ? [] : ["--threads", String(threads)]),
    ],
    env: ostromEnv(dataDir, threads, maxTokens),
    cwd: repoRoot,
    readyTimeoutMs: 60_000,
  });
}

/** RSS of `ostrom serve` with no model loaded: after /health answers and one second of rest. */
async function measureOstromIdleRss(
  dataDir: string,
): Promise<{ rss: number | undefined; peak: number | undefined }> {
  const server = await startOstromServe(dataDir, undefined, 128);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { rss: readTreeRssMiB(server.child.pid), peak: server.peakRssMiB() };
  } finally {
    await server.stop();
  }
}

function formatNumber(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function describeMachine(llamaCpp: { tag: string; commit: string }): string {
  const cpuModel = os.cpus()[0]?.model ?? "unknown CPU";
  const nodeLlamaCppVersion = (
    JSON.parse(
      readFileSync(path.join(repoRoot, "node_modules", "node-llama-cpp", "package.json"), "utf8"),
    ) as {
      version: string;
    }
  ).version;
  return (
    `${os.cpus().length} vCPU (${cpuModel}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `Linux ${os.release()}, Node ${process.version}, node-llama-cpp ${nodeLlamaCppVersion}, ` +
    `llama.cpp ${llamaCpp.tag} (${llamaCpp.commit.slice(0, 12)}) built from node-llama-cpp's bundle`
  );
}

async function main(): Promise<void> {
  const { maxTokens, modelFilter, threadCounts } = parseArguments(process.argv.slice(2));
  const cacheDir = resolveBenchCacheDir();
  const sharedModels = process.env.OSTROM_SHARED_MODELS ?? path.join(repoRoot, "..", "shared", "models");

  log("ensuring llama-server is built (first run: several minutes)");
  const llamaServer = await ensureLlamaServer({ variant: "openmp-off", verbose: false });
  const openMpServer = findBuiltLlamaServer("openmp-on");
  const openMpNodeLlamaCpp = findOpenMpNodeLlamaCppDir(cacheDir);

  const models: BenchModel[] = [];
  if (modelFilter.includes("stories")) {
    models.push({
      label: "stories260K",
      name: "stories260k",
      path: path.join(sharedModels, "stories260K.gguf"),
    });
  }
  if (modelFilter.includes("smollm")) {
    models.push({
      label: "SmolLM2-135M shape, Q8_0, random weights (145 MB)",
      name: "smollm2-135m-shape",
      path: await ensureShapedModel(cacheDir, "smollm2-135m-shape-q8_0.gguf", smolLM2_135MShape),
    });
  }
  if (modelFilter.includes("smollm-1.7b")) {
    models.push({
      label: "SmolLM2-1.7B shape, Q8_0, random weights (1.8 GB)",
      name: "smollm2-1.7b-shape",
      path: await ensureShapedModel(cacheDir, "smollm2-1.7b-shape-q8_0.gguf", smolLM2_1_7BShape),
    });
  }

  const ostrom = await prepareOstrom();
  const ostromDataDir = path.join(cacheDir, "ostrom-data");
  const rows: Row[] = [];
  let idleRss: { rss: number | undefined; peak: number | undefined } | undefined;
  let idleRssNote = ostrom.available ? "" : ostrom.reason;

  if (ostrom.available) {
    const emptyDataDir = path.join(cacheDir, "ostrom-empty-data");
    rmSync(emptyDataDir, { recursive: true, force: true });
    mkdirSync(emptyDataDir, { recursive: true });
    try {
      log("ostrom serve idle RSS");
      idleRss = await measureOstromIdleRss(emptyDataDir);
    } catch (error) {
      idleRssNote = `failed: ${String(error).split("\n")[0]}`;
    }
    rmSync(ostromDataDir, { recursive: true, force: true });
    mkdirSync(ostromDataDir, { recursive: true });
  }

  for (const model of models) {
    const addRow = (
      engine: string,
      streams: number,
      result: Awaited<ReturnType<typeof measureAtBestThreads>>,
      note: string,
      isBaseline = false,
    ) => {
      const shortStreams = result.measurement?.tokensPerStream.some((tokens) => tokens < maxTokens) === true;
      const notes = [
        note,
        shortStreams ? `stopped early: ${result.measurement?.tokensPerStream.join("+")} tokens` : "",
        result.measurement === undefined && result.error !== undefined ? `failed: ${result.error}` : "",
      ].filter((text) => text !== "");
      rows.push({
        model: model.label,
        engine,
        streams,
        threads: result.threads,
        threadNote: result.threadNote,
        measurement: result.measurement,
        note: notes.join("; "),
        isBaseline,
      });
    };

    for (const [label, serverPath] of [
      ["llama-server", llamaServer.serverPath],
      ["llama-server, GGML_OPENMP=ON", openMpServer],
    ] as const) {
      if (serverPath === undefined) continue;
      for (const streams of label === "llama-server" ? [1, 4] : [1]) {
        log(`${model.label}: ${label}, ${streams} stream(s)`);
        const result = await measureAtBestThreads(threadCounts, (threads) =>
          measureServer(
            () => startLlamaServer({ serverPath, modelPath: model.path, threads, parallel: streams }),
            {
              model: "bench",
              maxTokens,
              streams,
              extraBody: llamaServerExactLengthBody,
            },
          ),
        );
        addRow(
          `${label}${streams > 1 ? ` -np ${streams}` : ""}`,
          streams,
          result,
          "",
          label === "llama-server" && streams === 1,
        );
      }
    }

    for (const [label, nodeLlamaCppDir, env] of [
      ["node-llama-cpp direct (prebuilt binaries)", undefined, undefined],
      [
        "node-llama-cpp direct (GGML_OPENMP=ON build, OMP_WAIT_POLICY=active)",
        openMpNodeLlamaCpp,
        activeWait,
      ],
    ] as const) {
      if (label.includes("OPENMP") && nodeLlamaCppDir === undefined) continue;
      for (const streams of [1, 4]) {
        log(`${model.label}: ${label}, ${streams} stream(s)`);
        const result = await measureAtBestThreads(threadCounts, async (threads) => {
          const run = await runNodeLlamaCppInChild(
            {
              modelPath: model.path,
              api: "evaluate",
              threads,
              streams,
              maxTokens,
              prompt,
              ...(nodeLlamaCppDir === undefined ? {} : { nodeLlamaCppDir, cmakeOptions: openMpCmakeOptions }),
            },
            { timeoutMs: 300_000, ...(env === undefined ? {} : { env }) },
          );
          return {
            decodeTokensPerSecond: run.decodeTokensPerSecond,
            timeToFirstTokenMs: run.timeToFirstTokenMs,
            peakRssMiB: run.peakRssMiB,
            tokensPerStream: run.tokensPerStream,
          };
        });
        addRow(`${label}, raw evaluate${streams > 1 ? `, ${streams} sequences` : ""}`, streams, result, "");
      }
    }

    if (!ostrom.available) {
      for (const [engine, streams] of [
        ["ostrom run", 1],
        ["ostrom serve, /v1/completions stream", 1],
        ["ostrom serve, /v1/completions stream", 4],
      ] as const) {
        rows.push({
          model: model.label,
          engine,
          streams,
          threads: undefined,
          threadNote: "",
          measurement: undefined,
          note: ostrom.reason,
        });
      }
      continue;
    }

    try {
      await importIntoOstrom(ostromDataDir, model);
    } catch (error) {
      rows.push({
        model: model.label,
        engine: "ostrom",
        streams: 1,
        threads: undefined,
        threadNote: "",
        measurement: undefined,
        note: `skipped: ${String(error).split("\n")[0]}`,
      });
      continue;
    }

    log(`${model.label}: ostrom run`);
    const runResult = await measureAtBestThreads(threadCounts, (threads) =>
      measureOstromRun(ostromDataDir, model, threads, maxTokens),
    );
    addRow(
      "ostrom run",
      1,
      runResult,
      "TTFT from process start (includes Node start-up and model load); tok/s from stdout chunks",
    );

    // One server per thread count serves both the 1-stream and the 4-stream measurement.
    const serveResults = new Map<number, Map<number, Measurement>>();
    for (const threads of threadCounts) {
      log(`${model.label}: ostrom serve, ${threads} threads`);
      let server: StartedServer | undefined;
      try {
        server = await startOstromServe(ostromDataDir, threads, maxTokens);
        const stopTracking = trackTreePeakRss(server.child.pid);
        const byStreams = new Map<number, Measurement>();
        for (const streams of [1, 4]) {
          const summary = await measureHttpStreams({
            baseUrl: server.baseUrl,
            model: model.name,
            prompt,
            maxTokens,
            streams,
            timeoutMs: 300_000,
          });
          byStreams.set(streams, { ...toMeasurement(summary), peakRssMiB: stopTracking() });
        }
        stopTracking();
        serveResults.set(threads, byStreams);
      } catch (error) {
        log(`ostrom serve failed at ${threads} threads: ${String(error).slice(0, 2000)}`);
      } finally {
        if (server !== undefined) await stopProcess(server.child);
      }
    }
    for (const streams of [1, 4]) {
      const result = await measureAtBestThreads(threadCounts, async (threads) => {
        const measurement = serveResults.get(threads)?.get(streams);
        if (measurement === undefined) throw new Error(`ostrom serve failed at ${threads} threads (see log)`);
        return measurement;
      });
      addRow(
        "ostrom serve, /v1/completions stream",
        streams,
        result,
        streams === 1 ? "peak RSS: server and its model processes" : "peak RSS after both measurements",
      );
    }
  }

  console.log(`\n## Engine benchmark\n`);
  console.log(`Machine: ${describeMachine(llamaServer)}.`);
  console.log(
    `${maxTokens} new tokens, greedy, prompt "${prompt}". Each row at its best thread count of ${threadCounts.join(", ")} ` +
      "(all tried are listed). Decode tok/s = tokens after each stream's first / time from first to last token, " +
      "summed over concurrent streams. Ratio = decode tok/s / llama-server single-stream on the same model, same run.\n",
  );
  console.log(
    "| model | engine | streams | threads | decode tok/s | ratio | TTFT ms | peak RSS MiB | tok/s per thread count | note |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
  for (const row of rows) {
    const baseline = rows.find((candidate) => candidate.model === row.model && candidate.isBaseline === true);
    const decode = row.measurement?.decodeTokensPerSecond;
    const baselineDecode = baseline?.measurement?.decodeTokensPerSecond;
    const ratio =
      decode !== undefined && baselineDecode !== undefined ? (decode / baselineDecode).toFixed(2) : "–";
    console.log(
      `| ${row.model} | ${row.engine} | ${row.streams} | ${row.threads ?? "–"} | ${formatNumber(decode)} | ${ratio} | ` +
        `${formatNumber(row.measurement?.timeToFirstTokenMs, 1)} | ${formatNumber(row.measurement?.peakRssMiB)} | ` +
        `${row.threadNote} | ${row.note} |`,
    );
  }
  console.log(
    `\nIdle RSS of \`ostrom serve\` with no model loaded: ` +
      (idleRss === undefined
        ? idleRssNote
        : `${formatNumber(idleRss.rss)} MiB (peak ${formatNumber(idleRss.peak)} MiB during start-up)`),
  );
}

await main();
process.exit(0);
