// Closed-loop load on the simulated engine through the scheduler, on a manual clock: the harness behind
// the scheduler's convergence tests and bench/fairness.ts. A simulation of the scheduling logic only,
// not of the real engine. In "fifo" mode every request goes to one shared key, which makes the same
// scheduler a plain first-come-first-served queue (the baseline Ostrom had before fair scheduling).
import { createFairBatchPrioritization } from "./batch-priority.ts";
import { FairScheduler, type PriorityClass, type Ticket } from "./fair-scheduler.ts";
import { ManualClock } from "./manual-clock.ts";
import { type SimulatedBatchItem, SimulatedEngine } from "./simulated-engine.ts";
import { createTenantPath, type TenantPath } from "./tenant-path.ts";

export interface SimulatedTenant {
  name: string;
  path: TenantPath;
  /** Default "interactive". */
  priority?: PriorityClass;
  /** Requests the tenant keeps sent (waiting or running) at all times. */
  inFlight: number;
  promptTokens: number;
  completionTokens: number;
  /** Pause between a request finishing and the next being sent, in ms. Default 0. */
  thinkMs?: number;
  /** When the tenant starts sending, in ms. Default 0. */
  startAtMs?: number;
}

export interface SimulationOptions {
  mode: "fair" | "fifo";
  tenants: readonly SimulatedTenant[];
  /** Engine sequences = scheduler capacity. */
  slots: number;
  durationMs: number;
  /** Tokens and latencies before this time are not counted. Default 0. */
  warmupMs?: number;
  /** Passed to the scheduler in fair mode. Default 0. */
  reservedSlots?: number;
  /** Passed to the scheduler. Default 30000. */
  batchAgeingMs?: number;
  /** Engine step budget. Default 512. */
  batchSize?: number;
  /** Default 20. */
  baseStepMs?: number;
  /** Default 0.1. */
  tokenMs?: number;
}

export interface TenantResult {
  name: string;
  /** Prompt + generated tokens processed for the tenant in the measured window. */
  tokens: number;
  /** Requests finished in the measured window. */
  completed: number;
  /** Time from sending to first token, per request whose first token came in the measured window. */
  timeToFirstTokenMs: number[];
  /** Time from sending to admission, likewise. */
  queueWaitMs: number[];
}

export interface SimulationResult {
  tenants: TenantResult[];
  /** All tokens processed in the measured window. */
  totalTokens: number;
  measuredMs: number;
  /** Most requests running at once (must never exceed `slots`). */
  peakRunning: number;
}

const fifoPath = createTenantPath({ organizationId: "all", teamId: "all", apiKeyId: "all" });

export function runSimulation(options: SimulationOptions): SimulationResult {
  const clock = new ManualClock();
  const warmupMs = options.warmupMs ?? 0;
  const fair = options.mode === "fair";
  const scheduler = new FairScheduler({
    capacity: options.slots,
    clock,
    maxQueued: 1_000_000,
    maxQueuedPerKey: 1_000_000,
    reservedSlots: fair ? (options.reservedSlots ?? 0) : 0,
    batchAgeingMs: options.batchAgeingMs ?? 30_000,
  });
  const tenantsByName = new Map(options.tenants.map((tenant) => [tenant.name, tenant]));
  const prioritize = createFairBatchPrioritization<SimulatedBatchItem>((item) => {
    const tenant = item.job.owner === undefined ? undefined : tenantsByName.get(item.job.owner);
    if (!fair || tenant === undefined) return { key: "all", weight: 1 };
    return { key: tenant.name, weight: scheduler.getShare(tenant.path) };
  });
  const engine = new SimulatedEngine({
    slots: options.slots,
    prioritize,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.baseStepMs === undefined ? {} : { baseStepMs: options.baseStepMs }),
    ...(options.tokenMs === undefined ? {} : { tokenMs: options.tokenMs }),
  });
  const results = new Map<string, TenantResult>(
    options.tenants.map((tenant) => [
      tenant.name,
      { name: tenant.name, tokens: 0, completed: 0, timeToFirstTokenMs: [], queueWaitMs: [] },
    ]),
  );
  const waiting = new Map<Ticket, () => void>();
  let totalTokens = 0;
  let peakRunning = 0;
  const measuring = () => clock.now() >= warmupMs;

  const send = (tenant: SimulatedTenant, result: TenantResult) => {
    const sentAt = clock.now();
    const ticket = scheduler.enqueue({
      path: fair ? tenant.path : fifoPath,
      priority: tenant.priority ?? "interactive",
      promptTokens: tenant.promptTokens,
      estimatedTokens: tenant.promptTokens + tenant.completionTokens,
    });
    waiting.set(ticket, () => {
      if (measuring()) result.queueWaitMs.push(clock.now() - sentAt);
      engine.start({
        promptTokens: tenant.promptTokens,
        completionTokens: tenant.completionTokens,
        owner: tenant.name,
        onProgress: ({ promptTokens, generatedTokens }) => {
          if (generatedTokens > 0) scheduler.reportTokens(ticket, generatedTokens);
          if (!measuring()) return;
          result.tokens += promptTokens + generatedTokens;
          totalTokens += promptTokens + generatedTokens;
        },
        onFirstToken: () => {
          if (measuring()) result.timeToFirstTokenMs.push(clock.now() - sentAt);
        },
        onDone: () => {
          if (measuring()) result.completed += 1;
          scheduler.release(ticket);
          const thinkMs = tenant.thinkMs ?? 0;
          if (thinkMs > 0) clock.setTimer(() => send(tenant, result), thinkMs);
          else send(tenant, result);
        },
      });
    });
  };

  for (const tenant of options.tenants) {
    const result = results.get(tenant.name)!;
    for (let i = 0; i < tenant.inFlight; i++)
      clock.setTimer(() => send(tenant, result), tenant.startAtMs ?? 0);
  }
  clock.advance(0);
  while (clock.now() < options.durationMs) {
    for (const [ticket, start] of waiting)
      if (ticket.state === "admitted") {
        waiting.delete(ticket);
        start();
      }
    peakRunning = Math.max(peakRunning, scheduler.running, engine.active);
    if (engine.step((durationMs) => clock.advance(durationMs)) === 0) clock.advance(1);
  }
  return {
    tenants: [...results.values()],
    totalTokens,
    measuredMs: options.durationMs - warmupMs,
    peakRunning,
  };
}
