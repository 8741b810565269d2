// The load generator of the gateway benchmark, run by bench/gateway.ts as its own process so that the
// load does not share an event loop with any server. Two modes:
//   - open loop (default): request i to each target is sent at its scheduled time whether or not
//     earlier ones have finished, so a slow server cannot slow the load down and hide its own latency.
//     The targets (the upstream directly, Ostrom, and with `--floor` a minimal proxy) get the same
//     rate, interleaved request by request, so that whatever else the shared machine does hits all alike;
//   - closed loop (`closed` in the plan): one target at a time, `inFlight` requests always outstanding
//     (a new one as soon as one ends) for `requests` requests, in rounds that alternate the targets.
//     This saturates the target, so the CPU it spends per request can be read from /proc with little
//     background noise: the parent reads it between the "measuring" and "closed-run" messages.
// Keep-alive agents with a generous socket limit: connection set-up is not what is measured. An error on
// a reused connection is reported as such ("ECONNRESET (reused connection)").
//
// Input: one JSON argument (GatewayLoadPlan). Output: JSON lines on stdout, one per phase start and
// end. Benchmark tooling only: nothing in `src/` may import this file.
import http from "node:http";

export interface GatewayLoadPlan {
  targets: { name: string; baseUrl: string }[];
  model: string;
  /** Requests per second to EACH target. */
  rate: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** max_tokens of every request (the fake upstream then sends that many tokens). */
  tokens: number;
  phases: ("non-streaming" | "streaming")[];
  /** A request that takes longer is abandoned and counted as an error. */
  requestTimeoutMs: number;
  /** Closed loop instead of open: `rate`, `warmupSeconds` and `durationSeconds` are then unused. */
  closed?: ClosedLoopPlan;
}

export interface ClosedLoopPlan {
  /** Requests kept outstanding at all times. */
  inFlight: number;
  /** Measured requests per target per round. */
  requests: number;
  /** Unmeasured requests per target before the first round of each phase. */
  warmupRequests: number;
  /** Rounds per phase; each round runs every target once, in an order that alternates by round. */
  rounds: number;
}

export interface TargetResult {
  target: string;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  achievedPerSecond: number;
  latencyMs: Percentiles;
  /** Streaming only: time to the first byte of the body. */
  firstByteMs: Percentiles | undefined;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export type GatewayLoadMessage =
  | { event: "measuring"; phase: string }
  /** Closed loop: `target` alone is about to be loaded for a measured round. */
  | { event: "measuring"; phase: string; target: string; round: number }
  /** Closed loop: the round of `target` is over. */
  | {
      event: "closed-run";
      phase: string;
      target: string;
      round: number;
      seconds: number;
      result: TargetResult;
    }
  | {
      event: "phase";
      phase: string;
      seconds: number;
      /** How late the generator sent requests against their schedule (its own health). */
      sendLagMs: Percentiles;
      targets: TargetResult[];
    };

interface Recorder {
  sent: number;
  ok: number;
  errors: Map<string, number>;
  latencies: number[];
  firstBytes: number[];
}

const plan = JSON.parse(process.argv[2] ?? "{}") as GatewayLoadPlan;
// `timeout` makes node's agent honour the servers' `Keep-Alive: timeout=5` hint: an idle connection is
// closed 1 s before the server would close it. Without it, idle connections were kept until the server
// closed them, and a request sent on one at that moment failed with ECONNRESET (20 in a 300 s run).
const agents = plan.targets.map(
  () => new http.Agent({ keepAlive: true, maxSockets: 512, timeout: plan.requestTimeoutMs }),
);

function emit(message: GatewayLoadMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Sends one chat completion and calls back with its outcome; never throws. */
type Outcome = { ok: true; ms: number; firstByteMs: number } | { ok: false; reason: string };

function sendRequest(targetIndex: number, streaming: boolean, done: (outcome: Outcome) => void): void {
  const target = plan.targets[targetIndex]!;
  const body = JSON.stringify({
    model: plan.model,
    messages: [{ role: "user", content: "Tell me a short story." }],
    max_tokens: plan.tokens,
    ...(streaming ? { stream: true } : {}),
  });
  const url = new URL(`${target.baseUrl}/chat/completions`);
  const startedAt = performance.now();
  let firstByteAt: number | undefined;
  let settled = false;
  const finish = (outcome: Parameters<typeof done>[0]) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    done(outcome);
  };
  const request = http.request(
    {
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      agent: agents[targetIndex],
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    },
    (response) => {
      const pieces: Buffer[] = [];
      response.on("data", (piece: Buffer) => {
        firstByteAt ??= performance.now();
        pieces.push(piece);
      });
      response.on("end", () => {
        const endedAt = performance.now();
        if (response.statusCode !== 200) {
          finish({ ok: false, reason: `HTTP ${response.statusCode}` });
          return;
        }
        // A cheap completeness check: the whole stream, or a JSON body with the answer in it.
        const text = Buffer.concat(pieces).toString("utf8");
        const complete = streaming
          ? text.trimEnd().endsWith("data: [DONE]")
          : text.includes('"finish_reason"');
        if (!complete) {
          finish({ ok: false, reason: "incomplete answer" });
          return;
        }
        finish({ ok: true, ms: endedAt - startedAt, firstByteMs: (firstByteAt ?? endedAt) - startedAt });
      });
      response.on("error", (error) =>
        finish({ ok: false, reason: (error as NodeJS.ErrnoException).code ?? "response error" }),
      );
    },
  );
  const timer = setTimeout(() => {
    request.destroy();
    finish({ ok: false, reason: "timeout" });
  }, plan.requestTimeoutMs);
  request.on("error", (error) => {
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    // A kept-alive connection the server closed while this request was being sent on it.
    finish({ ok: false, reason: request.reusedSocket ? `${code} (reused connection)` : code });
  });
  request.end(body);
}

/** Runs one open-loop window; resolves when every request sent in it has finished or timed out. */
function runWindow(
  streaming: boolean,
  seconds: number,
  record: boolean,
): Promise<{ recorders: Recorder[]; lags: number[] }> {
  const recorders: Recorder[] = plan.targets.map(() => ({
    sent: 0,
    ok: 0,
    errors: new Map(),
    latencies: [],
    firstBytes: [],
  }));
  const lags: number[] = [];
  const perTarget = Math.round(plan.rate * seconds);
  const intervalMs = 1000 / plan.rate;
  const targets = plan.targets.length;
  const total = perTarget * targets;
  return new Promise((resolve) => {
    let next = 0;
    let outstanding = 0;
    let scheduled = false;
    const startAt = performance.now() + 5;
    // Slot k: round k / targets, target (k + round) % targets, so that the order alternates.
    const scheduleOf = (k: number) =>
      startAt + Math.floor(k / targets) * intervalMs + ((k % targets) * intervalMs) / targets;
    const targetOf = (k: number) => (k + Math.floor(k / targets)) % targets;
    const maybeResolve = () => {
      if (next === total && outstanding === 0) resolve({ recorders, lags });
    };
    const tick = () => {
      scheduled = false;
      const now = performance.now();
      while (next < total && scheduleOf(next) <= now) {
        const k = next++;
        const targetIndex = targetOf(k);
        const recorder = recorders[targetIndex]!;
        if (record) lags.push(performance.now() - scheduleOf(k));
        recorder.sent += 1;
        outstanding += 1;
        sendRequest(targetIndex, streaming, (outcome) => {
          outstanding -= 1;
          if (record) recordOutcome(recorder, outcome);
          maybeResolve();
        });
      }
      if (next < total && !scheduled) {
        scheduled = true;
        setTimeout(tick, Math.max(0, scheduleOf(next) - performance.now()));
      }
      maybeResolve();
    };
    setTimeout(tick, 5);
  });
}

function recordOutcome(recorder: Recorder, outcome: Outcome): void {
  if (outcome.ok) {
    recorder.ok += 1;
    recorder.latencies.push(outcome.ms);
    recorder.firstBytes.push(outcome.firstByteMs);
  } else {
    recorder.errors.set(outcome.reason, (recorder.errors.get(outcome.reason) ?? 0) + 1);
  }
}

/** Runs `count` requests to one target with `inFlight` always outstanding; resolves when all ended. */
function runClosed(
  targetIndex: number,
  streaming: boolean,
  count: number,
  inFlight: number,
): Promise<{ recorder: Recorder; seconds: number }> {
  const recorder: Recorder = { sent: 0, ok: 0, errors: new Map(), latencies: [], firstBytes: [] };
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let outstanding = 0;
    const sendNext = () => {
      if (recorder.sent === count) {
        if (outstanding === 0) resolve({ recorder, seconds: (performance.now() - startedAt) / 1000 });
        return;
      }
      recorder.sent += 1;
      outstanding += 1;
      sendRequest(targetIndex, streaming, (outcome) => {
        outstanding -= 1;
        recordOutcome(recorder, outcome);
        sendNext();
      });
    };
    for (let index = 0; index < Math.min(inFlight, count); index++) sendNext();
    if (count === 0) resolve({ recorder, seconds: 0 });
  });
}

function toTargetResult(
  recorder: Recorder,
  index: number,
  seconds: number,
  streaming: boolean,
): TargetResult {
  return {
    target: plan.targets[index]!.name,
    sent: recorder.sent,
    ok: recorder.ok,
    errors: Object.fromEntries(recorder.errors),
    achievedPerSecond: round(recorder.ok / seconds),
    latencyMs: summarize(recorder.latencies),
    firstByteMs: streaming ? summarize(recorder.firstBytes) : undefined,
  };
}

function summarize(values: number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN);
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1), mean: round(mean) };
}

function round(value: number): number {
  return Number(value.toFixed(3));
}

for (const phase of plan.phases) {
  const streaming = phase === "streaming";
  const closed = plan.closed;
  if (closed) {
    for (const [index] of plan.targets.entries())
      await runClosed(index, streaming, closed.warmupRequests, closed.inFlight);
    for (let pass = 0; pass < closed.rounds; pass++) {
      for (let step = 0; step < plan.targets.length; step++) {
        // Alternate the order by round, so that no target always follows the same one.
        const index = pass % 2 === 0 ? step : plan.targets.length - 1 - step;
        const target = plan.targets[index]!.name;
        emit({ event: "measuring", phase, target, round: pass });
        const { recorder, seconds } = await runClosed(index, streaming, closed.requests, closed.inFlight);
        emit({
          event: "closed-run",
          phase,
          target,
          round: pass,
          seconds: round(seconds),
          result: toTargetResult(recorder, index, seconds, streaming),
        });
      }
    }
    continue;
  }
  if (plan.warmupSeconds > 0) await runWindow(streaming, plan.warmupSeconds, false);
  emit({ event: "measuring", phase });
  const { recorders, lags } = await runWindow(streaming, plan.durationSeconds, true);
  emit({
    event: "phase",
    phase,
    seconds: plan.durationSeconds,
    sendLagMs: summarize(lags),
    targets: recorders.map((recorder, index) =>
      toTargetResult(recorder, index, plan.durationSeconds, streaming),
    ),
  });
}
for (const agent of agents) agent.destroy();
