// Fairness through the real serving path (`npm run bench:fairness:served [-- --duration 20 --json]`):
// HTTP clients → Ostrom (auth, quotas, dispatcher, fair queues, remote engine) → a fake OpenAI-compatible
// upstream that streams one token every `--token-ms` per sequence (a steady engine, so differences come
// from admission alone). Ostrom sends it at most 8 requests at once. FIFO and fair in the same run: the
// FIFO rows send every tenant's requests with ONE shared key (requests of one key are served in arrival
// order), the fair rows give each tenant its own key.
//   1. A keeps 16 long requests in flight, B sends short ones one at a time: B's time to first token,
//      alone, under FIFO and under fair sharing.
//   2. Four equal tenants, each keeping 8 requests of a different length in flight: Jain's index of the
//      tokens each receives, and total tokens/s, fair versus FIFO.
//   3. Two organisations weighted 3:1, both backlogged: measured shares.
// A benchmark reports; it asserts nothing. Benchmark tooling only: nothing in `src/` may import this.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load-config.ts";
import { openTenancy } from "../src/runtime/open-tenancy.ts";
import { startServer } from "../src/server/start-server.ts";
import { silentLogger } from "../src/util/logger.ts";
import { startFakeOpenAIUpstream } from "../test/helpers/fake-openai-upstream.ts";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "20" },
    "token-ms": { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const phaseMs = Number(flags.duration) * 1000;
const tokenMs = Number(flags["token-ms"]);
const concurrency = 8;
const model = "steady-model";

interface Totals {
  tokens: number;
  ttftMs: number[];
}

/** One streamed request; counts content chunks that arrive before `until`. */
async function stream(
  url: string,
  key: string,
  maxTokens: number,
  until: number,
  totals: Totals,
): Promise<void> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "go" }],
      max_tokens: maxTokens,
      stream: true,
    }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = "";
  let first = true;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let newline = buffer.indexOf("\n\n");
    while (newline >= 0) {
      const event = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 2);
      newline = buffer.indexOf("\n\n");
      if (!event.includes('"content":"t')) continue; // queue chunks and the role chunk carry no token
      const now = performance.now();
      if (first) {
        totals.ttftMs.push(now - started);
        first = false;
      }
      if (now < until) totals.tokens += 1;
    }
  }
}

/** Keeps `inFlight` requests going for one tenant until `until`. */
async function keepBusy(
  url: string,
  key: string,
  inFlight: number,
  maxTokens: number,
  until: number,
  totals: Totals,
) {
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) await stream(url, key, maxTokens, until, totals);
    }),
  );
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

function jainIndex(values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  return (sum * sum) / (values.length * values.reduce((a, b) => a + b * b, 0));
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));
const newTotals = (): Totals => ({ tokens: 0, ttftMs: [] });

async function main() {
  const upstream = await startFakeOpenAIUpstream({ models: [model], tokens: 100_000, tokenDelayMs: tokenMs });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "ostrom-fairness-"));
  const keys: Record<string, string> = {};
  {
    using tenancy = openTenancy({ dataDir });
    const { directory } = tenancy;
    directory.createOrganization({ name: "flat" });
    directory.createTeam("flat", { name: "all" });
    directory.createOrganization({ name: "big", weight: 3 });
    directory.createTeam("big", { name: "all" });
    directory.createOrganization({ name: "small", weight: 1 });
    directory.createTeam("small", { name: "all" });
    for (const name of ["shared", "a", "b", "t1", "t2", "t3", "t4"])
      keys[name] = directory.createApiKey({
        organizationId: "flat",
        teamId: "all",
        name,
        role: "member",
      }).key;
    keys.big = directory.createApiKey({
      organizationId: "big",
      teamId: "all",
      name: "big",
      role: "member",
    }).key;
    keys.small = directory.createApiKey({
      organizationId: "small",
      teamId: "all",
      name: "small",
      role: "member",
    }).key;
  }
  const config = loadConfig({
    args: {
      port: "0",
      "data-dir": dataDir,
      "pull-on-start": "false",
      "engine-build": "off",
      backend: [`steady=${upstream.url}`],
      "backend-concurrency": String(concurrency),
      "max-queue": "1000",
      "max-queue-per-key": "1000",
    },
    env: {},
  });
  const server = await startServer(config, silentLogger);
  const url = server.url;
  const at = () => performance.now();
  try {
    // 1. Flood: B alone, then with A flooding under FIFO (one key) and fair (own keys).
    const bAlone = newTotals();
    await keepBusy(url, keys.b as string, 1, 8, at() + phaseMs, bAlone);
    const flood: Record<"fifo" | "fair", Totals> = { fifo: newTotals(), fair: newTotals() };
    for (const mode of ["fifo", "fair"] as const) {
      const until = at() + phaseMs;
      const aKey = (mode === "fifo" ? keys.shared : keys.a) as string;
      const bKey = (mode === "fifo" ? keys.shared : keys.b) as string;
      await Promise.all([
        keepBusy(url, aKey, 16, 400, until, newTotals()),
        keepBusy(url, bKey, 1, 8, until, flood[mode]),
      ]);
    }
    // 2. Four equal tenants with different request lengths.
    const lengths = [25, 50, 100, 200];
    const equal: Record<"fifo" | "fair", number[]> = { fifo: [], fair: [] };
    for (const mode of ["fifo", "fair"] as const) {
      const until = at() + phaseMs;
      const totals = lengths.map(newTotals);
      await Promise.all(
        lengths.map((length, index) =>
          keepBusy(
            url,
            (mode === "fifo" ? keys.shared : keys[`t${index + 1}`]) as string,
            8,
            length,
            until,
            totals[index] as Totals,
          ),
        ),
      );
      equal[mode] = totals.map((total) => total.tokens);
    }
    // 3. Weighted organisations, 3:1.
    const until = at() + phaseMs;
    const big = newTotals();
    const small = newTotals();
    await Promise.all([
      keepBusy(url, keys.big as string, 16, 100, until, big),
      keepBusy(url, keys.small as string, 16, 100, until, small),
    ]);

    const aloneP95 = percentile(bAlone.ttftMs, 0.95);
    const figures = {
      settings: { phaseSeconds: phaseMs / 1000, tokenMs, concurrency },
      flood: {
        bAloneP95Ms: round(aloneP95, 1),
        fifoP95Ms: round(percentile(flood.fifo.ttftMs, 0.95), 1),
        fairP95Ms: round(percentile(flood.fair.ttftMs, 0.95), 1),
        fifoRatio: round(percentile(flood.fifo.ttftMs, 0.95) / aloneP95, 2),
        fairRatio: round(percentile(flood.fair.ttftMs, 0.95) / aloneP95, 2),
        bRequests: {
          alone: bAlone.ttftMs.length,
          fifo: flood.fifo.ttftMs.length,
          fair: flood.fair.ttftMs.length,
        },
      },
      equalTenants: {
        tokensFifo: equal.fifo,
        tokensFair: equal.fair,
        jainFifo: round(jainIndex(equal.fifo)),
        jainFair: round(jainIndex(equal.fair)),
        throughputFairOverFifo: round(
          equal.fair.reduce((a, b) => a + b, 0) / equal.fifo.reduce((a, b) => a + b, 0),
        ),
      },
      weighted: {
        configured: 0.75,
        measuredBigShare: round(big.tokens / (big.tokens + small.tokens)),
      },
    };
    if (flags.json) {
      console.log(JSON.stringify(figures));
      return;
    }
    const f = figures;
    console.log(
      `Fairness through the served path: ${f.settings.phaseSeconds} s per phase, ${tokenMs} ms/token, ${concurrency} upstream slots\n`,
    );
    console.log("| measure | FIFO (one key) | fair (own keys) | target |");
    console.log("|---|---|---|---|");
    console.log(
      `| B's p95 TTFT ÷ B alone (${f.flood.bAloneP95Ms} ms) | ${f.flood.fifoRatio}× (${f.flood.fifoP95Ms} ms) | ${f.flood.fairRatio}× (${f.flood.fairP95Ms} ms) | ≤ 1.5× |`,
    );
    console.log(
      `| Jain's index, 4 equal tenants | ${f.equalTenants.jainFifo} | ${f.equalTenants.jainFair} | ≥ 0.95 |`,
    );
    console.log(`| total tokens, fair ÷ FIFO | 1 | ${f.equalTenants.throughputFairOverFifo} | ≥ 0.92 |`);
    console.log(
      `| share of the weight-3 organisation (of 3:1) | — | ${f.weighted.measuredBigShare} (0.75) | within 10 % |`,
    );
    console.log(
      `\ntokens per equal tenant (lengths ${lengths.join("/")}): FIFO ${equal.fifo.join(" ")}, fair ${equal.fair.join(" ")}`,
    );
  } finally {
    await server.shutdown();
    await upstream.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
