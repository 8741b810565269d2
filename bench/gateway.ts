// The gateway benchmark (`npm run bench:gateway -- [--duration 300] [--rate 500] [--json]
// [--cpu-prof-dir DIR]`, the last to profile Ostrom with `node --cpu-prof`): what Ostrom
// adds in front of a fast OpenAI-compatible upstream, against that upstream directly, in the same run.
//   - the upstream: test/helpers/fake-openai-upstream.ts in this process (no delay per token), so the
//     figures are the gateway's, not an engine's;
//   - Ostrom: `node --import tsx src/cli/ostrom.ts serve --backend fake=<upstream>/v1` as a child process;
//   - the load: bench/gateway-load.ts as another child process, open loop at `--rate` requests/s to EACH
//     target, the two interleaved request by request over loopback with keep-alive;
//   - phases: non-streaming, then streaming chat completions of `--tokens` tokens, each `--warmup`
//     seconds unmeasured then `--duration` seconds measured;
//   - Ostrom's RSS is sampled every second over the whole run.
// Reports latency percentiles per target, the added p50/p99 (Ostrom minus direct), achieved rates,
// errors, and RSS at start, max and end. A benchmark reports; it asserts nothing.
// Benchmark tooling only: nothing in `src/` may import this file.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeOpenAIUpstream } from "../test/helpers/fake-openai-upstream.ts";
import { readCpuSeconds, readRssMiB, spawnTracked, stopProcess } from "./bench-process.ts";
import type { GatewayLoadMessage, GatewayLoadPlan, Percentiles, TargetResult } from "./gateway-load.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function readFlag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

function readStringFlag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`);
  return path.resolve(value);
}

const options = {
  durationSeconds: readFlag("duration", 300),
  warmupSeconds: readFlag("warmup", 10),
  rate: readFlag("rate", 500),
  tokens: readFlag("tokens", 16),
  json: process.argv.includes("--json"),
  /** `--cpu-prof-dir DIR`: Ostrom runs under `node --cpu-prof` and writes its profile there on exit. */
  cpuProfDir: readStringFlag("cpu-prof-dir"),
};
const model = "fake-model";
const progress = (message: string) => {
  if (!options.json) process.stderr.write(`${message}\n`);
};

// 1. The upstream.
const upstream = await startFakeOpenAIUpstream({ models: [model], tokens: options.tokens, keepRequests: 0 });

// 2. Ostrom in front of it.
const dataDir = await mkdtemp(path.join(os.tmpdir(), "ostrom-bench-gateway-"));
let ostromOutput = "";
const ostrom = spawnTracked(
  process.execPath,
  [
    ...(options.cpuProfDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfDir]),
    "--import",
    "tsx",
    "src/cli/ostrom.ts",
    "serve",
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--backend",
    `fake=${upstream.url}`,
  ],
  {
    cwd: root,
    env: { ...process.env, OSTROM_PULL_ON_START: "false" },
    // Keep only the tail: enough to explain a failure, bounded over a long run.
    onOutput: (text) => {
      ostromOutput = (ostromOutput + text).slice(-20_000);
    },
  },
);

async function cleanUp(): Promise<void> {
  // Writing a CPU profile on exit takes a while.
  await stopProcess(ostrom, options.cpuProfDir === undefined ? 3000 : 30_000);
  await upstream.close();
  await rm(dataDir, { recursive: true, force: true });
}

let ostromUrl: string;
try {
  ostromUrl = await waitForOstrom();
} catch (error) {
  await cleanUp();
  throw new Error(
    `${error instanceof Error ? error.message : String(error)}\nOstrom's output:\n${ostromOutput}`,
  );
}
const ostromApi = `${ostromUrl}/v1`;
const routed = await waitForRemoteModel(ostromApi, 30_000);
progress(
  routed
    ? `Ostrom at ${ostromUrl} lists ${model} from the upstream at ${upstream.url}`
    : `Ostrom at ${ostromUrl} does not list ${model}: remote backends may not be routed yet; measuring anyway`,
);

// 3. RSS sampling, every second over the whole run.
const rssSamples: { seconds: number; mib: number; phase: string }[] = [];
const runStartedAt = performance.now();
let currentPhase = "idle";
const sampleRss = () => {
  const mib = readRssMiB(ostrom.pid);
  if (mib !== undefined)
    rssSamples.push({
      seconds: round((performance.now() - runStartedAt) / 1000, 1),
      mib: round(mib, 1),
      phase: currentPhase,
    });
};
sampleRss();
const rssTimer = setInterval(sampleRss, 1000);

// 4. The load, from its own process.
const plan: GatewayLoadPlan = {
  targets: [
    { name: "direct", baseUrl: upstream.url },
    { name: "ostrom", baseUrl: ostromApi },
  ],
  model,
  rate: options.rate,
  warmupSeconds: options.warmupSeconds,
  durationSeconds: options.durationSeconds,
  tokens: options.tokens,
  phases: ["non-streaming", "streaming"],
  requestTimeoutMs: 30_000,
};
const phases: Extract<GatewayLoadMessage, { event: "phase" }>[] = [];
/** Ostrom's CPU time (all threads) over each measured phase, to put a cost on each request. */
const ostromCpuSeconds = new Map<string, number>();
let cpuAtPhaseStart = 0;
const readOstromCpuSeconds = () => (ostrom.pid === undefined ? 0 : readCpuSeconds(ostrom.pid));
let loadOutput = "";
let lineBuffer = "";
const load = spawnTracked(
  process.execPath,
  ["--import", "tsx", "bench/gateway-load.ts", JSON.stringify(plan)],
  {
    cwd: root,
    onOutput: (text) => {
      lineBuffer += text;
      let newline = lineBuffer.indexOf("\n");
      while (newline >= 0) {
        const line = lineBuffer.slice(0, newline);
        lineBuffer = lineBuffer.slice(newline + 1);
        newline = lineBuffer.indexOf("\n");
        if (!line.startsWith("{")) {
          loadOutput = (loadOutput + line).slice(-20_000);
          continue;
        }
        const message = JSON.parse(line) as GatewayLoadMessage;
        if (message.event === "measuring") {
          currentPhase = message.phase;
          cpuAtPhaseStart = readOstromCpuSeconds();
          progress(
            `measuring ${message.phase} for ${options.durationSeconds} s at ${options.rate} requests/s per target`,
          );
        } else {
          phases.push(message);
          ostromCpuSeconds.set(message.phase, readOstromCpuSeconds() - cpuAtPhaseStart);
          currentPhase = `after ${message.phase}`;
        }
      }
    },
  },
);
const loadCode = await new Promise<number | null>((resolve) => load.on("close", resolve));
clearInterval(rssTimer);
sampleRss();
await cleanUp();
if (loadCode !== 0) throw new Error(`the load generator failed (exit ${loadCode}):\n${loadOutput}`);

// 5. Report.
const measured = rssSamples.filter((sample) => plan.phases.includes(sample.phase as "streaming"));
const rss = {
  idleMiB: rssSamples[0]?.mib,
  startMiB: measured[0]?.mib,
  maxMiB: measured.length === 0 ? undefined : Math.max(...measured.map((sample) => sample.mib)),
  endMiB: measured.at(-1)?.mib,
  perPhase: Object.fromEntries(
    plan.phases.map((phase) => {
      const samples = measured.filter((sample) => sample.phase === phase);
      return [
        phase,
        {
          startMiB: samples[0]?.mib,
          maxMiB: Math.max(...samples.map((s) => s.mib)),
          endMiB: samples.at(-1)?.mib,
        },
      ];
    }),
  ),
  samples: rssSamples.length,
  /** One sample every 30 s of the run, to tell a leak (steady climb) from a heap settling. */
  timeline: rssSamples.filter((_, index) => index % 30 === 0).map((sample) => [sample.seconds, sample.mib]),
};
const results = phases.map((phase) => {
  const direct = phase.targets.find((target) => target.target === "direct");
  const gateway = phase.targets.find((target) => target.target === "ostrom");
  const added = (pick: (result: TargetResult) => Percentiles | undefined) => {
    const a = direct && pick(direct);
    const b = gateway && pick(gateway);
    return a && b ? { p50: round(b.p50 - a.p50, 3), p99: round(b.p99 - a.p99, 3) } : undefined;
  };
  const cpuSeconds = ostromCpuSeconds.get(phase.phase) ?? Number.NaN;
  return {
    phase: phase.phase,
    seconds: phase.seconds,
    ostromCpuPercent: round((cpuSeconds / phase.seconds) * 100, 1),
    ostromCpuMsPerRequest: round((cpuSeconds * 1000) / Math.max(1, gateway?.sent ?? 0), 3),
    generatorSendLagMs: phase.sendLagMs,
    targets: phase.targets,
    addedLatencyMs: added((result) => result.latencyMs),
    addedFirstByteMs: added((result) => result.firstByteMs),
  };
});
const report = {
  machine: {
    cpus: os.cpus().length,
    node: process.version,
    loadAverage: os.loadavg().map((value) => round(value, 2)),
  },
  options: { ...options, json: undefined, cpuProfDir: undefined, model, routed },
  results,
  ostromRss: rss,
};

if (options.json) {
  console.log(JSON.stringify(report));
} else {
  const lines = [
    "# Gateway overhead: Ostrom in front of a fake OpenAI upstream vs. the upstream directly",
    "",
    `${options.rate} requests/s to each target (interleaved, open loop, keep-alive), chat completions of ${options.tokens} tokens, ` +
      `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s measured per phase; latency = send to last byte.`,
    "",
    "| phase | target | sent | ok | errors | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | added p50 ms | added p99 ms |",
    "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const result of results) {
    for (const target of result.targets) {
      const added = target.target === "ostrom" ? result.addedLatencyMs : undefined;
      const errors =
        Object.entries(target.errors)
          .map(([reason, count]) => `${reason}: ${count}`)
          .join(", ") || "0";
      const l = target.latencyMs;
      lines.push(
        `| ${result.phase} | ${target.target} | ${target.sent} | ${target.ok} | ${errors} | ${target.achievedPerSecond} | ` +
          `${l.p50} | ${l.p90} | ${l.p99} | ${l.p999} | ${l.max} | ${added?.p50 ?? ""} | ${added?.p99 ?? ""} |`,
      );
    }
  }
  lines.push("");
  for (const result of results) {
    if (result.addedFirstByteMs)
      lines.push(
        `${result.phase}: added time to first byte p50 ${result.addedFirstByteMs.p50} ms, p99 ${result.addedFirstByteMs.p99} ms`,
      );
    lines.push(
      `${result.phase}: load generator sent late by p50 ${result.generatorSendLagMs.p50} ms, p99 ${result.generatorSendLagMs.p99} ms`,
    );
    lines.push(
      `${result.phase}: Ostrom used ${result.ostromCpuPercent} % of one core, ${result.ostromCpuMsPerRequest} ms CPU per request`,
    );
  }
  lines.push(
    "",
    `Ostrom RSS (MiB): idle ${rss.idleMiB}, start of measuring ${rss.startMiB}, max ${rss.maxMiB}, end ${rss.endMiB}` +
      ` (${rss.samples} samples, one per second); per phase: ` +
      Object.entries(rss.perPhase)
        .map(([phase, value]) => `${phase} ${value.startMiB} → max ${value.maxMiB} → ${value.endMiB}`)
        .join("; "),
    `Ostrom RSS every 30 s (s: MiB): ${rss.timeline.map(([seconds, mib]) => `${seconds}: ${mib}`).join(", ")}`,
    `Machine: ${report.machine.cpus} CPUs, Node ${report.machine.node}, load average at end ${report.machine.loadAverage.join(" ")}`,
  );
  console.log(lines.join("\n"));
}

async function waitForOstrom(): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const match = /listening on (http:\/\/[^\s]+)/.exec(ostromOutput);
    if (match?.[1]) return match[1];
    if (ostrom.exitCode !== null)
      throw new Error(`Ostrom exited with code ${ostrom.exitCode} before listening`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("Ostrom did not start listening within 60 s");
}

/** Whether Ostrom's model list shows the upstream's model (the dispatcher has checked the backend). */
async function waitForRemoteModel(api: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${api}/models`, { signal: AbortSignal.timeout(2000) });
      const list = (await response.json()) as { data?: { id?: string }[] };
      if (list.data?.some((entry) => entry.id === model)) return true;
    } catch {
      // not answering yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
