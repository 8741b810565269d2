// The gateway benchmark (`npm run bench:gateway -- [--duration 300] [--rate 500] [--json]
// [--cpu-prof-dir DIR] [--floor | --floor-only] [--compiled] [--closed N] [--ostrom-node-options "..."]
// [--gc-pauses]`):
// what Ostrom adds in front of a fast OpenAI-compatible upstream, against that upstream directly, in the
// same run.
//   - the upstream: test/helpers/fake-openai-upstream.ts in this process (no delay per token), so the
//     figures are the gateway's, not an engine's;
//   - Ostrom: `node --import tsx src/cli/ostrom.ts serve --backend fake=<upstream>/v1` as a child process,
//     or with `--compiled` the built `bin/ostrom.js` (run `npm run build` first), as `ostrom serve` runs;
//   - with `--floor`, a third target: bench/minimal-proxy.ts, the least any Node proxy does (node:http
//     server, keep-alive agent, pipe), as its own child process: the floor under Ostrom's overhead.
//     `--floor-only` measures it instead of Ostrom (the same load as a run of Ostrom alone);
//   - the load: bench/gateway-load.ts as another child process, open loop at `--rate` requests/s to EACH
//     target, the targets interleaved request by request over loopback with keep-alive;
//   - phases: non-streaming, then streaming chat completions of `--tokens` tokens, each `--warmup`
//     seconds unmeasured then `--duration` seconds measured;
//   - Ostrom's RSS is sampled every second over the whole run; each target's CPU time (Ostrom's, the
//     floor's, and this process's for the upstream) is read from /proc around each measured phase;
//   - with `--gc-pauses`, Ostrom loads bench/gc-pause-recorder.mjs, and each open-loop phase reports
//     Ostrom's garbage-collection pauses within it (count, median, longest, milliseconds per second).
// `--closed N` replaces the open loop by a closed one: each target alone with N requests always in
// flight, `--requests` (4000) per round after `--warmup-requests` (4000), `--rounds` (2) rounds
// alternating the targets. It saturates each target, so its CPU per request is what it costs, with far
// less noise than the open loop on a shared machine (which cannot resolve cuts under ~0.1 ms).
// Reports latency percentiles per target, the added p50/p99 (each proxy minus direct), achieved rates,
// errors, CPU per request, and RSS at start, max and end. A benchmark reports; it asserts nothing.
// Benchmark tooling only: nothing in `src/` may import this file.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeOpenAIUpstream } from "../test/helpers/fake-openai-upstream.ts";
import { readCpuSeconds, readRssMiB, spawnTracked, stopProcess } from "./bench-process.ts";
import type { GatewayLoadMessage, GatewayLoadPlan, Percentiles, TargetResult } from "./gateway-load.ts";
import { type PhaseGcPauses, readGcPauses, summarizeGcPauses } from "./gc-pauses.ts";

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

function readRawFlag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return value;
}

const floorOnly = process.argv.includes("--floor-only");
const options = {
  durationSeconds: readFlag("duration", 300),
  warmupSeconds: readFlag("warmup", 10),
  rate: readFlag("rate", 500),
  tokens: readFlag("tokens", 16),
  json: process.argv.includes("--json"),
  /** `--cpu-prof-dir DIR`: Ostrom runs under `node --cpu-prof` and writes its profile there on exit. */
  cpuProfDir: readStringFlag("cpu-prof-dir"),
  /** `--floor`: also measure bench/minimal-proxy.ts; `--floor-only`: it instead of Ostrom. */
  floor: floorOnly || process.argv.includes("--floor"),
  ostrom: !floorOnly,
  /** `--compiled`: run the built `bin/ostrom.js` instead of the sources through tsx. */
  compiled: process.argv.includes("--compiled"),
  /** `--ostrom-node-options "--max-semi-space-size=16 ..."`: extra `node` options for Ostrom's process. */
  ostromNodeOptions:
    readRawFlag("ostrom-node-options")
      ?.split(/\s+/)
      .filter((option) => option !== "") ?? [],
  /** `--gc-pauses`: record Ostrom's GC pauses and report them per open-loop phase. */
  gcPauses: process.argv.includes("--gc-pauses"),
  /** `--closed N`: closed loop with N requests in flight, each target alone (see the header). */
  closed: process.argv.includes("--closed")
    ? {
        inFlight: readFlag("closed", 8),
        requests: readFlag("requests", 4000),
        // One round's worth: after 1000, the first round still ran ~20 % slower than the next (JIT).
        warmupRequests: readFlag("warmup-requests", 4000),
        rounds: readFlag("rounds", 2),
      }
    : undefined,
};
const model = "fake-model";
const progress = (message: string) => {
  if (!options.json) process.stderr.write(`${message}\n`);
};
const loadAverageAtStart = os.loadavg().map((value) => round(value, 2));

// 1. The upstream.
const upstream = await startFakeOpenAIUpstream({ models: [model], tokens: options.tokens, keepRequests: 0 });

// 2. Ostrom in front of it, and the floor (a minimal proxy) if asked for.
const dataDir = await mkdtemp(path.join(os.tmpdir(), "ostrom-bench-gateway-"));
const gcPauseFile = `${dataDir}-gc-pauses.jsonl`;
const ostromEntry = options.compiled ? ["bin/ostrom.js"] : ["--import", "tsx", "src/cli/ostrom.ts"];
if (options.compiled && !existsSync(path.join(root, "dist", "cli", "main.js")))
  throw new Error("--compiled needs the built CLI: run `npm run build` first");
const ostrom = options.ostrom
  ? startServer(
      "Ostrom",
      [
        ...(options.cpuProfDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfDir]),
        ...options.ostromNodeOptions,
        ...(options.gcPauses ? ["--import", path.join(root, "bench", "gc-pause-recorder.mjs")] : []),
        ...ostromEntry,
        "serve",
        "--port",
        "0",
        "--data-dir",
        dataDir,
        "--backend",
        `fake=${upstream.url}`,
      ],
      options.gcPauses ? { OSTROM_BENCH_GC_FILE: gcPauseFile } : {},
    )
  : undefined;
const floor = options.floor
  ? startServer("the minimal proxy", [
      "--import",
      "tsx",
      "bench/minimal-proxy.ts",
      `http://127.0.0.1:${upstream.port}`,
    ])
  : undefined;

async function cleanUp(): Promise<void> {
  // Writing a CPU profile on exit takes a while.
  if (ostrom) await stopProcess(ostrom.child, options.cpuProfDir === undefined ? 3000 : 30_000);
  if (floor) await stopProcess(floor.child);
  await upstream.close();
  await rm(dataDir, { recursive: true, force: true });
}

/** Ostrom's GC pauses per open-loop phase (after it has exited and written them), then the file gone. */
async function collectGcPauses(): Promise<Record<string, PhaseGcPauses> | undefined> {
  if (!options.gcPauses) return undefined;
  const pauses = await readGcPauses(gcPauseFile);
  await rm(gcPauseFile, { force: true });
  // The closed loop has no phase windows: it measures CPU per request, not pauses.
  return Object.fromEntries(
    [...phaseWindows].map(([phase, window]) => [phase, summarizeGcPauses(pauses, window.from, window.to)]),
  );
}

let ostromUrl: string | undefined;
let floorUrl: string | undefined;
try {
  ostromUrl = ostrom && (await ostrom.listening());
  floorUrl = floor && (await floor.listening());
} catch (error) {
  await cleanUp();
  throw error;
}
let routed: boolean | undefined;
if (ostromUrl !== undefined) {
  routed = await waitForRemoteModel(`${ostromUrl}/v1`, 30_000);
  progress(
    routed
      ? `Ostrom at ${ostromUrl} lists ${model} from the upstream at ${upstream.url}`
      : `Ostrom at ${ostromUrl} does not list ${model}: remote backends may not be routed yet; measuring anyway`,
  );
}
if (floorUrl !== undefined) progress(`the minimal proxy (floor) at ${floorUrl} forwards to ${upstream.url}`);

// 3. RSS sampling of Ostrom, every second over the whole run.
const rssSamples: { seconds: number; mib: number; phase: string }[] = [];
const runStartedAt = performance.now();
let currentPhase = "idle";
const sampleRss = () => {
  const mib = readRssMiB(ostrom?.child.pid);
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
const targets: { name: string; baseUrl: string; pid: number | "self" | undefined }[] = [
  // The upstream runs in this process: its CPU is this process's (the rest of what it does is small).
  { name: "direct", baseUrl: upstream.url, pid: "self" },
  ...(floorUrl === undefined ? [] : [{ name: "floor", baseUrl: `${floorUrl}/v1`, pid: floor?.child.pid }]),
  ...(ostromUrl === undefined
    ? []
    : [{ name: "ostrom", baseUrl: `${ostromUrl}/v1`, pid: ostrom?.child.pid }]),
];
const plan: GatewayLoadPlan = {
  targets: targets.map(({ name, baseUrl }) => ({ name, baseUrl })),
  model,
  rate: options.rate,
  warmupSeconds: options.warmupSeconds,
  durationSeconds: options.durationSeconds,
  tokens: options.tokens,
  phases: ["non-streaming", "streaming"],
  requestTimeoutMs: 30_000,
  ...(options.closed ? { closed: options.closed } : {}),
};
const readTargetCpuSeconds = (name: string) => {
  const pid = targets.find((target) => target.name === name)?.pid;
  return pid === undefined ? Number.NaN : readCpuSeconds(pid);
};
const phases: Extract<GatewayLoadMessage, { event: "phase" }>[] = [];
/** Open loop: each target's CPU time (all threads) over each measured phase, by phase then target. */
const cpuSecondsByPhase = new Map<string, Map<string, number>>();
let cpuAtPhaseStart = new Map<string, number>();
/** Open loop: each measured phase's wall-clock window (epoch ms), for its GC pauses. */
const phaseWindows = new Map<string, { from: number; to: number }>();
/** Closed loop: the rounds, each with its target's CPU time. */
const closedRuns: (Extract<GatewayLoadMessage, { event: "closed-run" }> & { cpuSeconds: number })[] = [];
let closedCpuAtStart = 0;
let loadOutput = "";
let lineBuffer = "";
const onLoadMessage = (message: GatewayLoadMessage) => {
  if (message.event === "measuring") {
    currentPhase = message.phase;
    if ("target" in message) {
      closedCpuAtStart = readTargetCpuSeconds(message.target);
      progress(`closed loop: ${message.phase}, ${message.target}, round ${message.round + 1}`);
      return;
    }
    cpuAtPhaseStart = new Map(targets.map(({ name }) => [name, readTargetCpuSeconds(name)]));
    phaseWindows.set(message.phase, { from: Date.now(), to: Number.POSITIVE_INFINITY });
    progress(
      `measuring ${message.phase} for ${options.durationSeconds} s at ${options.rate} requests/s per target`,
    );
  } else if (message.event === "closed-run") {
    closedRuns.push({ ...message, cpuSeconds: readTargetCpuSeconds(message.target) - closedCpuAtStart });
  } else {
    phases.push(message);
    const window = phaseWindows.get(message.phase);
    if (window) window.to = Date.now();
    cpuSecondsByPhase.set(
      message.phase,
      new Map(
        targets.map(({ name }) => [name, readTargetCpuSeconds(name) - (cpuAtPhaseStart.get(name) ?? 0)]),
      ),
    );
    currentPhase = `after ${message.phase}`;
  }
};
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
        if (line.startsWith("{")) onLoadMessage(JSON.parse(line) as GatewayLoadMessage);
        else loadOutput = (loadOutput + line).slice(-20_000);
      }
    },
  },
);
const loadCode = await new Promise<number | null>((resolve) => load.on("close", resolve));
clearInterval(rssTimer);
sampleRss();
await cleanUp();
if (loadCode !== 0) throw new Error(`the load generator failed (exit ${loadCode}):\n${loadOutput}`);
const gcPauses = await collectGcPauses();

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
const proxies = targets.filter((target) => target.name !== "direct").map((target) => target.name);
const results = phases.map((phase) => {
  const direct = phase.targets.find((target) => target.target === "direct");
  const added = (name: string, pick: (result: TargetResult) => Percentiles | undefined) => {
    const gateway = phase.targets.find((target) => target.target === name);
    const a = direct && pick(direct);
    const b = gateway && pick(gateway);
    return a && b ? { p50: round(b.p50 - a.p50, 3), p99: round(b.p99 - a.p99, 3) } : undefined;
  };
  const cpuSeconds = cpuSecondsByPhase.get(phase.phase) ?? new Map<string, number>();
  const cpuMsPerRequest = Object.fromEntries(
    phase.targets.map((target) => [
      target.target,
      round(((cpuSeconds.get(target.target) ?? Number.NaN) * 1000) / Math.max(1, target.sent), 3),
    ]),
  );
  const ostromSeconds = cpuSeconds.get("ostrom") ?? Number.NaN;
  return {
    phase: phase.phase,
    seconds: phase.seconds,
    ostromCpuPercent: round((ostromSeconds / phase.seconds) * 100, 1),
    ostromCpuMsPerRequest: cpuMsPerRequest.ostrom ?? Number.NaN,
    ...(gcPauses?.[phase.phase] ? { ostromGcPauses: gcPauses[phase.phase] } : {}),
    /** CPU ms per request of each target's process ("direct": the upstream, in the benchmark's process). */
    cpuMsPerRequest,
    generatorSendLagMs: phase.sendLagMs,
    targets: phase.targets,
    addedLatencyMs: added("ostrom", (result) => result.latencyMs),
    addedFirstByteMs: added("ostrom", (result) => result.firstByteMs),
    /** Added latency of each proxy (Ostrom, the floor) over the upstream directly. */
    added: Object.fromEntries(
      proxies.map((name) => [
        name,
        {
          latencyMs: added(name, (result) => result.latencyMs),
          firstByteMs: added(name, (result) => result.firstByteMs),
        },
      ]),
    ),
  };
});
const closedResults = plan.phases.flatMap((phase) =>
  targets.map(({ name }) => {
    const runs = closedRuns.filter((run) => run.phase === phase && run.target === name);
    const requests = runs.reduce((total, run) => total + run.result.sent, 0);
    const cpuSeconds = runs.reduce((total, run) => total + run.cpuSeconds, 0);
    return {
      phase,
      target: name,
      rounds: runs.length,
      requests,
      ok: runs.reduce((total, run) => total + run.result.ok, 0),
      errors: runs.flatMap((run) =>
        Object.entries(run.result.errors).map(([reason, n]) => `${reason}: ${n}`),
      ),
      cpuMsPerRequest: round((cpuSeconds * 1000) / Math.max(1, requests), 3),
      medianCpuMsPerRequest: median(
        runs.map((run) => (run.cpuSeconds * 1000) / Math.max(1, run.result.sent)),
      ),
      perRound: runs.map((run) => ({
        cpuMsPerRequest: round((run.cpuSeconds * 1000) / Math.max(1, run.result.sent), 3),
        perSecond: run.result.achievedPerSecond,
        p50: run.result.latencyMs.p50,
        p99: run.result.latencyMs.p99,
      })),
    };
  }),
);
const report = {
  machine: {
    cpus: os.cpus().length,
    node: process.version,
    loadAverageAtStart,
    loadAverage: os.loadavg().map((value) => round(value, 2)),
  },
  options: { ...options, json: undefined, cpuProfDir: undefined, model, routed },
  ...(options.closed ? { closed: closedResults } : { results, ostromRss: rss }),
};

if (options.json) {
  console.log(JSON.stringify(report));
} else if (options.closed) {
  const { inFlight, requests, warmupRequests, rounds } = options.closed;
  const lines = [
    "# Gateway CPU per request, closed loop: each target alone, saturated",
    "",
    `${inFlight} requests in flight, ${rounds} round(s) of ${requests} requests per target after ${warmupRequests} unmeasured, ` +
      `chat completions of ${options.tokens} tokens; CPU of the target's process from /proc ("direct": the fake upstream).` +
      (options.compiled ? " Ostrom from bin/ostrom.js." : ""),
    "",
    "| phase | target | requests | ok | errors | CPU ms/request | median of rounds | per round: CPU ms/request, req/s, p50 ms, p99 ms |",
    "|---|---|---:|---:|---|---:|---:|---|",
  ];
  for (const result of closedResults)
    lines.push(
      `| ${result.phase} | ${result.target} | ${result.requests} | ${result.ok} | ${result.errors.join(", ") || "0"} | ` +
        `${result.cpuMsPerRequest} | ${result.medianCpuMsPerRequest} | ${result.perRound.map((r) => `${r.cpuMsPerRequest}, ${r.perSecond}, ${r.p50}, ${r.p99}`).join("; ")} |`,
    );
  lines.push(
    "",
    `Machine: ${report.machine.cpus} CPUs, Node ${report.machine.node}, load average at start ${loadAverageAtStart.join(" ")}, at end ${report.machine.loadAverage.join(" ")}`,
  );
  console.log(lines.join("\n"));
} else {
  const lines = [
    `# Gateway overhead: ${proxies.join(" and ")} in front of a fake OpenAI upstream vs. the upstream directly`,
    "",
    `${options.rate} requests/s to each target (interleaved, open loop, keep-alive), chat completions of ${options.tokens} tokens, ` +
      `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s measured per phase; latency = send to last byte.` +
      (options.compiled ? " Ostrom from bin/ostrom.js." : ""),
    "",
    "| phase | target | sent | ok | errors | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | added p50 ms | added p99 ms | CPU ms/request |",
    "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const result of results) {
    for (const target of result.targets) {
      const added = result.added[target.target]?.latencyMs;
      const errors =
        Object.entries(target.errors)
          .map(([reason, count]) => `${reason}: ${count}`)
          .join(", ") || "0";
      const l = target.latencyMs;
      lines.push(
        `| ${result.phase} | ${target.target} | ${target.sent} | ${target.ok} | ${errors} | ${target.achievedPerSecond} | ` +
          `${l.p50} | ${l.p90} | ${l.p99} | ${l.p999} | ${l.max} | ${added?.p50 ?? ""} | ${added?.p99 ?? ""} | ` +
          `${result.cpuMsPerRequest[target.target] ?? ""} |`,
      );
    }
  }
  lines.push("");
  for (const result of results) {
    for (const name of proxies) {
      const firstByte = result.added[name]?.firstByteMs;
      if (firstByte)
        lines.push(
          `${result.phase}: ${name} added time to first byte p50 ${firstByte.p50} ms, p99 ${firstByte.p99} ms`,
        );
    }
    lines.push(
      `${result.phase}: load generator sent late by p50 ${result.generatorSendLagMs.p50} ms, p99 ${result.generatorSendLagMs.p99} ms`,
    );
    if (options.ostrom)
      lines.push(
        `${result.phase}: Ostrom used ${result.ostromCpuPercent} % of one core, ${result.ostromCpuMsPerRequest} ms CPU per request`,
      );
    const gc = result.ostromGcPauses;
    if (gc) {
      const describe = (name: string, pauses: PhaseGcPauses["scavenges"]) =>
        `${pauses.count} ${name} (median ${pauses.p50Ms ?? "-"} ms, max ${pauses.maxMs ?? "-"} ms, ${pauses.msPerSecond} ms/s)`;
      lines.push(
        `${result.phase}: Ostrom's GC pauses: ${describe("scavenges", gc.scavenges)}, ` +
          `${describe("mark-compacts", gc.markCompacts)}, ${describe("other steps", gc.otherSteps)}`,
      );
    }
  }
  if (options.ostrom)
    lines.push(
      "",
      `Ostrom RSS (MiB): idle ${rss.idleMiB}, start of measuring ${rss.startMiB}, max ${rss.maxMiB}, end ${rss.endMiB}` +
        ` (${rss.samples} samples, one per second); per phase: ` +
        Object.entries(rss.perPhase)
          .map(([phase, value]) => `${phase} ${value.startMiB} → max ${value.maxMiB} → ${value.endMiB}`)
          .join("; "),
      `Ostrom RSS every 30 s (s: MiB): ${rss.timeline.map(([seconds, mib]) => `${seconds}: ${mib}`).join(", ")}`,
    );
  lines.push(
    `Machine: ${report.machine.cpus} CPUs, Node ${report.machine.node}, load average at start ${loadAverageAtStart.join(" ")}, at end ${report.machine.loadAverage.join(" ")}`,
  );
  console.log(lines.join("\n"));
}

/** Starts a server as a tracked child process; `listening()` resolves with its URL once it says so. */
function startServer(label: string, args: string[], env: Record<string, string> = {}) {
  let output = "";
  const child = spawnTracked(process.execPath, args, {
    cwd: root,
    env: { ...process.env, OSTROM_PULL_ON_START: "false", OSTROM_ENGINE_BUILD: "off", ...env },
    // Keep only the tail: enough to explain a failure, bounded over a long run.
    onOutput: (text) => {
      output = (output + text).slice(-20_000);
    },
  });
  const listening = async (): Promise<string> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match?.[1]) return match[1];
      if (child.exitCode !== null)
        throw new Error(`${label} exited with code ${child.exitCode} before listening:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${label} did not start listening within 60 s:\n${output}`);
  };
  return { child, listening };
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return round(value ?? Number.NaN, 3);
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
