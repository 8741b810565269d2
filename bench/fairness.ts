// The fairness benchmark (`npx tsx bench/fairness.ts [--json]`): FIFO admission versus the fair
// scheduler, in the same run, on the SIMULATED engine of src/scheduler/simulated-engine.ts (a token-time
// model: each step runs every active sequence, 1 generated token each plus chunked prompt processing,
// and lasts base + per-token cost). It measures the scheduling logic, not the real engine's speed.
//   1. Tenant A keeps 16 long requests in flight, tenant B sends short requests one at a time:
//      B's p95 time to first token under FIFO, fair, fair with one headroom slot, and alone.
//   2. Four equal-weight backlogged tenants with different request sizes: Jain's index of token throughput.
//   3. Weighted organisations and teams: measured shares versus configured weights.
//   4. Total token throughput, fair / FIFO.
// A benchmark reports; it asserts nothing. Benchmark tooling only: nothing in `src/` may import this.

import {
  runSimulation,
  type SimulatedTenant,
  type SimulationOptions,
} from "../src/scheduler/run-simulation.ts";
import { createTenantPath } from "../src/scheduler/tenant-path.ts";

const engine = { slots: 8, batchSize: 128, baseStepMs: 20, tokenMs: 0.1 } as const;
const timing = { durationMs: 600_000, warmupMs: 30_000 } as const;

function tenant(
  name: string,
  shape: Partial<SimulatedTenant> & { org?: string; team?: string },
): SimulatedTenant {
  return {
    name,
    path: createTenantPath({
      organizationId: shape.org ?? name,
      organizationWeight: shape.path?.organizationWeight ?? 1,
      teamId: shape.team ?? "team",
      teamWeight: shape.path?.teamWeight ?? 1,
      apiKeyId: name,
    }),
    inFlight: shape.inFlight ?? 1,
    promptTokens: shape.promptTokens ?? 64,
    completionTokens: shape.completionTokens ?? 64,
  };
}

function run(mode: SimulationOptions["mode"], tenants: SimulatedTenant[], reservedSlots = 0) {
  return runSimulation({ mode, tenants, reservedSlots, ...engine, ...timing });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

function tokensPerSecond(result: ReturnType<typeof runSimulation>): number {
  return (result.totalTokens / result.measuredMs) * 1000;
}

function jainIndex(values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return (sum * sum) / (values.length * squares);
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

// 1. Long flood versus short one-at-a-time requests.
const a = tenant("A", { inFlight: 16, promptTokens: 512, completionTokens: 512 });
const b = tenant("B", { inFlight: 1, promptTokens: 64, completionTokens: 32 });
const floodRuns = {
  fifo: run("fifo", [a, b]),
  fair: run("fair", [a, b]),
  fairHeadroom: run("fair", [a, b], 1),
  alone: run("fair", [b]),
};
const bTtft = (result: ReturnType<typeof runSimulation>) =>
  result.tenants.find((t) => t.name === "B")?.timeToFirstTokenMs ?? [];
const aloneP95 = percentile(bTtft(floodRuns.alone), 0.95);
const flood = Object.fromEntries(
  Object.entries(floodRuns).map(([name, result]) => {
    const p95 = percentile(bTtft(result), 0.95);
    return [
      name,
      {
        bP50TtftMs: round(percentile(bTtft(result), 0.5), 1),
        bP95TtftMs: round(p95, 1),
        bP95VsAlone: round(p95 / aloneP95, 2),
        bRequests: bTtft(result).length,
        tokensPerSecond: round(tokensPerSecond(result), 1),
      },
    ];
  }),
);

// 2. Four equal-weight backlogged tenants, each with its own request shape.
const four = [64, 128, 256, 512].map((completionTokens, index) =>
  tenant(`T${index + 1}`, { inFlight: 12, promptTokens: 32 * (index + 1), completionTokens }),
);
const equalRuns = { fifo: run("fifo", four), fair: run("fair", four), fairHeadroom: run("fair", four, 1) };
const equal = Object.fromEntries(
  Object.entries(equalRuns).map(([name, result]) => [
    name,
    {
      jainIndex: round(jainIndex(result.tenants.map((t) => t.tokens))),
      shares: result.tenants.map((t) => round(t.tokens / result.totalTokens)),
      tokensPerSecond: round(tokensPerSecond(result), 1),
    },
  ]),
);

// 3. Weighted: organisation X (weight 3) with teams of weight 1 and 2; organisation Y (weight 1).
const weightedTenants: SimulatedTenant[] = [
  { ...tenant("x1", { org: "X", team: "t1", inFlight: 12, completionTokens: 256 }) },
  { ...tenant("x2", { org: "X", team: "t2", inFlight: 12, completionTokens: 128 }) },
  { ...tenant("y", { org: "Y", inFlight: 12, completionTokens: 512 }) },
].map((t) => {
  const weights: Record<string, [number, number]> = { x1: [3, 1], x2: [3, 2], y: [1, 1] };
  const [organizationWeight, teamWeight] = weights[t.name] ?? [1, 1];
  return { ...t, path: { ...t.path, organizationWeight, teamWeight } };
});
const weightedResult = run("fair", weightedTenants);
const targets: Record<string, number> = { x1: 0.75 / 3, x2: (0.75 * 2) / 3, y: 0.25 };
const weighted = weightedResult.tenants.map((t) => {
  const share = t.tokens / weightedResult.totalTokens;
  const target = targets[t.name] ?? 0;
  return {
    tenant: t.name,
    target: round(target),
    share: round(share),
    relativeError: round((share - target) / target),
  };
});

const report = {
  note: "SIMULATION of the scheduler logic on a token-time model engine, not the real engine",
  engine: { ...engine, ...timing },
  flood,
  equalWeights: equal,
  weighted,
  throughputRatio: {
    flood: round(floodRuns.fair.totalTokens / floodRuns.fifo.totalTokens),
    floodHeadroom: round(floodRuns.fairHeadroom.totalTokens / floodRuns.fifo.totalTokens),
    equalWeights: round(equalRuns.fair.totalTokens / equalRuns.fifo.totalTokens),
    equalWeightsHeadroom: round(equalRuns.fairHeadroom.totalTokens / equalRuns.fifo.totalTokens),
  },
};

if (process.argv.includes("--json")) {
  console.log(JSON.stringify(report));
} else {
  const lines = [
    "# Fairness benchmark — SIMULATION of the scheduler logic (not the real engine)",
    "",
    `Engine model: ${engine.slots} slots, ${engine.batchSize}-token steps, step = ${engine.baseStepMs} ms + ${engine.tokenMs} ms/token; ${timing.durationMs / 1000} s simulated, first ${timing.warmupMs / 1000} s not counted.`,
    "",
    "## A floods (16 × 512+512 tokens in flight), B sends 64+32-token requests one at a time",
    "",
    "| admission | B p50 TTFT ms | B p95 TTFT ms | B p95 / alone | B requests | tokens/s |",
    "| --- | --- | --- | --- | --- | --- |",
    ...Object.entries(flood).map(
      ([name, row]) =>
        `| ${name} | ${row.bP50TtftMs} | ${row.bP95TtftMs} | ${row.bP95VsAlone} | ${row.bRequests} | ${row.tokensPerSecond} |`,
    ),
    "",
    "## Four equal-weight backlogged tenants (completions of 64, 128, 256, 512 tokens)",
    "",
    "| admission | Jain's index | shares | tokens/s |",
    "| --- | --- | --- | --- |",
    ...Object.entries(equal).map(
      ([name, row]) => `| ${name} | ${row.jainIndex} | ${row.shares.join(", ")} | ${row.tokensPerSecond} |`,
    ),
    "",
    "## Weighted shares (org X weight 3: teams 1 and 2; org Y weight 1)",
    "",
    "| tenant | target | measured | relative error |",
    "| --- | --- | --- | --- |",
    ...weighted.map((row) => `| ${row.tenant} | ${row.target} | ${row.share} | ${row.relativeError} |`),
    "",
    "## Total throughput, fair / FIFO",
    "",
    ...Object.entries(report.throughputRatio).map(([name, ratio]) => `- ${name}: ${ratio}`),
  ];
  console.log(lines.join("\n"));
}
