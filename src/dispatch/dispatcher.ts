// The one path all generation work takes: quota reservation, placement on a backend, the fair queue of
// that (backend, model) pool, the engine call with failover, then settlement, accounting and metrics.
// Knows nothing of HTTP: callers pass a tenant path, a priority and a CancelSignal.
//
// Why one FairScheduler per (backend, model) pool rather than one for everything: a slot is a sequence
// of one loaded model (or one upstream's concurrency for one model), so requests for different models
// never compete for the same slot. Fairness is therefore per pool; quotas span all pools.
//
// Failover: a request that fails on a remote backend before its first token (`backend_unavailable`) is
// placed again on another healthy backend serving the model; once a token has been sent it is not,
// because the client has already seen part of an answer.
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  GenerationEvent,
  ModelHandle,
  TokenUsage,
  WorkShare,
} from "../engine/engine.ts";
import { isOstromError, OstromError } from "../errors.ts";
import { Gauge } from "../observability/metrics-registry.ts";
import { FairScheduler, type PriorityClass, type Ticket } from "../scheduler/fair-scheduler.ts";
import { QuotaExceededError } from "../scheduler/quota-exceeded-error.ts";
import type { QuotaLedger, QuotaReservation } from "../scheduler/quota-ledger.ts";
import type { SchedulerClock } from "../scheduler/scheduler-clock.ts";
import { systemClock } from "../scheduler/scheduler-clock.ts";
import { type TenantPath, toTenantPlace } from "../scheduler/tenant-path.ts";
import type { UsageEndpoint, UsageOutcome, UsageRecord } from "../tenancy/usage-log.ts";
import { Cancellation, type CancelSignal } from "../util/cancel-signal.ts";
import type { Backend } from "./backend.ts";
import { createDispatchMetrics, type DispatchMetrics } from "./dispatch-metrics.ts";
import {
  estimateChatPromptTokens,
  estimateCompletionPromptTokens,
  estimateEmbeddingPromptTokens,
} from "./estimate-request-tokens.ts";

export type Endpoint = UsageEndpoint;
export type Outcome = UsageOutcome;

/** Who the work is for, as the dispatcher needs it. */
export interface WorkOwner {
  path: TenantPath;
  keyName: string;
}

export interface DispatchOptions {
  owner: WorkOwner;
  /** Default `interactive`. */
  priority?: PriorityClass;
  signal: CancelSignal;
  /** Echoed in accounting and `/v1/queue`; one is generated when absent. */
  requestId?: string;
}

/** One finished (or refused) request, as recorded for accounting (kept by src/tenancy/usage-log.ts). */
export type UsageEntry = UsageRecord;

export interface UsageSink {
  /**
   * Must be durable when it returns: the dispatcher calls it before a request's events end (and so
   * before its response ends), so a killed server loses no finished record. A throw fails the
   * request's events with that error.
   */
  record(entry: UsageEntry): void;
}

export interface DispatcherOptions {
  backends: readonly Backend[];
  /** Quotas; none means unlimited. */
  ledger?: QuotaLedger;
  usage?: UsageSink;
  metrics?: DispatchMetrics;
  /** Requests that may wait per pool (backend × model). */
  maxQueued: number;
  /** Requests one API key may have waiting per pool. */
  maxQueuedPerKey: number;
  /**
   * Longest wait for a slot before `queue_timeout`, in ms; 0 for no limit. Also bounds the wait for
   * quota held by running requests' reservations (quota-ledger.ts), which ends in `quota_exceeded`.
   */
  queueTimeoutMs: number;
  /**
   * Whether several tenants share the server (API keys exist). Then one slot per pool is kept for keys
   * with nothing running, which bounds a newcomer's wait behind a flood of long requests (bench:fairness:
   * B's p95 time to first token 1.0× its time alone with it, 3× without); a single user (open mode)
   * keeps every slot. Default: never shared.
   */
  isShared?: () => boolean;
  /** `max_tokens` assumed for quota reservations when a request names none. */
  defaultMaxTokens: number;
  clock?: SchedulerClock;
  /** How often a waiting streamed request is told its position when it changes (ms). Default 500. */
  positionIntervalMs?: number;
}

interface Pool {
  backend: Backend;
  model: string;
  scheduler: FairScheduler;
}

/** A request known to the dispatcher, waiting or running: what `/v1/queue` shows. */
export interface ActiveRequest {
  id: string;
  model: string;
  backend: string;
  path: TenantPath;
  keyName: string;
  priority: PriorityClass;
  state: "queued" | "running";
  /** 1-based place among waiting requests of its pool; undefined when running. */
  position: number | undefined;
  waitedMs: number;
}

export interface PoolSnapshot {
  backend: string;
  model: string;
  capacity: number;
  running: number;
  queued: number;
  tenants: ReturnType<FairScheduler["snapshot"]>["tenants"];
}

interface Tracked {
  id: string;
  model: string;
  owner: WorkOwner;
  priority: PriorityClass;
  arrivedAt: number;
  pool: Pool | undefined;
  ticket: Ticket | undefined;
}

interface Estimate {
  /** Upper bound on prompt tokens, for quota reservations. */
  promptBound: number;
  maxTokens: number;
}

let nextRequestNumber = 1;
/**
 * Makes request ids unique across server runs: the usage log keys records by request id (and ignores a
 * repeated one), so ids that restarted at `req_1` after a restart would have dropped new records.
 */
const processPrefix = `${Date.now().toString(36)}${process.pid.toString(36)}`;

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #clock: SchedulerClock;
  readonly #pools = new Map<string, Pool>();
  readonly #active = new Map<string, Tracked>();
  readonly metrics: DispatchMetrics;
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? createDispatchMetrics();
    this.#registerGauges();
  }

  /** Requests waiting or running, for draining on shutdown. */
  get pendingRequests(): number {
    return this.#active.size;
  }

  chat(request: ChatRequest, options: DispatchOptions): AsyncIterable<GenerationEvent> {
    const estimate = {
      promptBound: estimateChatPromptTokens(request),
      maxTokens: request.sampling.maxTokens ?? this.#options.defaultMaxTokens,
    };
    return this.#generate("chat", request.model, estimate, options, (backend, signal, share) =>
      backend.engine.chat({ ...request, owner: share }, signal),
    );
  }

  complete(request: CompletionRequest, options: DispatchOptions): AsyncIterable<GenerationEvent> {
    const estimate = {
      promptBound: estimateCompletionPromptTokens(request),
      maxTokens: request.sampling.maxTokens ?? this.#options.defaultMaxTokens,
    };
    return this.#generate("completion", request.model, estimate, options, (backend, signal, share) =>
      backend.engine.complete({ ...request, owner: share }, signal),
    );
  }

  async embed(request: EmbeddingRequest, options: DispatchOptions): Promise<EmbeddingResult> {
    const estimate = { promptBound: estimateEmbeddingPromptTokens(request), maxTokens: 0 };
    let result: EmbeddingResult | undefined;
    const events = this.#generate(
      "embedding",
      request.model,
      estimate,
      options,
      async function* (backend, signal) {
        result = await backend.engine.embed(request, signal);
        const usage = { promptTokens: result.usage.promptTokens, completionTokens: 0 };
        yield { type: "done", finishReason: "stop", usage, toolCalls: [] } satisfies GenerationEvent;
      },
    );
    for await (const _event of events) {
      // Queue positions are of no use to a caller that gets one answer; the result is set on `done`.
    }
    if (!result) throw new Error("embedding ended without a result");
    return result;
  }

  /**
   * A model that is in no store but a remote backend lists, as a handle to dispatch with (no file, no
   * digest known: `remote:` marks it), or undefined.
   */
  findRemoteModel(name: string): ModelHandle | undefined {
    const served = this.#options.backends.some(
      (backend) => backend.kind === "remote" && backend.models.includes(name),
    );
    return served ? { ref: name, digest: `remote:${name}`, path: "" } : undefined;
  }

  /** Remote models with the backends listing them, for `GET /v1/models`. */
  listRemoteModels(): { name: string; backends: string[] }[] {
    const byName = new Map<string, string[]>();
    for (const backend of this.#options.backends)
      for (const name of backend.kind === "remote" ? backend.models : [])
        byName.set(name, [...(byName.get(name) ?? []), backend.name]);
    return [...byName].map(([name, backends]) => ({ name, backends }));
  }

  /** What is waiting and running, optionally only one key's requests. */
  listActive(filter?: (path: TenantPath) => boolean): ActiveRequest[] {
    const now = this.#clock.now();
    const list: ActiveRequest[] = [];
    for (const tracked of this.#active.values()) {
      if (filter && !filter(tracked.owner.path)) continue;
      const queued = tracked.ticket?.state !== "admitted";
      list.push({
        id: tracked.id,
        model: tracked.model,
        backend: tracked.pool?.backend.name ?? "",
        path: tracked.owner.path,
        keyName: tracked.owner.keyName,
        priority: tracked.priority,
        state: queued ? "queued" : "running",
        position:
          tracked.ticket && tracked.pool && queued
            ? tracked.pool.scheduler.getPosition(tracked.ticket)
            : undefined,
        waitedMs: Math.max(0, now - tracked.arrivedAt),
      });
    }
    return list;
  }

  snapshotPools(): PoolSnapshot[] {
    return [...this.#pools.values()].map((pool) => {
      const snapshot = pool.scheduler.snapshot();
      return {
        backend: pool.backend.name,
        model: pool.model,
        capacity: snapshot.capacity,
        running: snapshot.running,
        queued: snapshot.queued,
        tenants: snapshot.tenants,
      };
    });
  }

  /** Refuses new work and rejects what waits with `shutting_down`; running requests finish. */
  close(): void {
    this.#closed = true;
    for (const pool of this.#pools.values())
      pool.scheduler.close(new OstromError("shutting_down", "The server is shutting down."));
    // Requests waiting for quota held by running ones wait no more (they get `shutting_down`).
    this.#options.ledger?.close();
  }

  async *#generate(
    endpoint: Endpoint,
    model: ModelHandle,
    estimate: Estimate,
    options: DispatchOptions,
    /** `share`: who the work is for, for engines that share each evaluation step (engine.ts). */
    run: (backend: Backend, signal: CancelSignal, share: WorkShare) => AsyncIterable<GenerationEvent>,
  ): AsyncGenerator<GenerationEvent> {
    const { owner, signal } = options;
    const tracked: Tracked = {
      id: options.requestId ?? `req_${processPrefix}_${(nextRequestNumber++).toString(36)}`,
      model: model.ref,
      owner,
      priority: options.priority ?? "interactive",
      arrivedAt: this.#clock.now(),
      pool: undefined,
      ticket: undefined,
    };
    const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let queueWaitMs = 0;
    let firstTokenAt: number | undefined;
    let outcome: Outcome = "ok";
    let errorCode: string | null = null;
    let reservation: QuotaReservation | undefined;
    let finished = false;

    if (this.#closed) throw new OstromError("shutting_down", "The server is shutting down.");
    this.#active.set(tracked.id, tracked);
    try {
      const ledger = this.#options.ledger;
      if (ledger) {
        const tokens = estimate.promptBound + estimate.maxTokens;
        // The common case first, without the waiting machinery (a signal, a generator per request):
        // nobody waits for quota and this request fits at once. Otherwise it waits in line.
        if (ledger.waiting === 0) reservation = await reserveAtOnce(ledger, owner.path, tokens);
        reservation ??= yield* this.#reserveQuota(ledger, owner.path, tokens, signal);
      }
      const tried = new Set<Backend>();
      let lastFailure: Error | undefined;
      for (;;) {
        const pool = this.#placeRequest(model, tried, lastFailure);
        tried.add(pool.backend);
        tracked.pool = pool;
        const enqueuedAt = this.#clock.now();
        const fairPromptTokens = Math.ceil(estimate.promptBound / 4);
        const ticket = pool.scheduler.enqueue({
          path: owner.path,
          priority: tracked.priority,
          promptTokens: fairPromptTokens,
          estimatedTokens: fairPromptTokens + estimate.maxTokens,
          signal,
          ...(this.#options.queueTimeoutMs > 0
            ? { deadline: enqueuedAt + this.#options.queueTimeoutMs }
            : {}),
        });
        tracked.ticket = ticket;
        yield* this.#waitForSlot(pool, ticket);
        queueWaitMs += this.#clock.now() - enqueuedAt;
        let charged = fairPromptTokens;
        let sentAny = false;
        try {
          for await (const event of run(pool.backend, signal, toTenantPlace(owner.path))) {
            if (event.type === "queued") {
              yield event;
              continue;
            }
            if (event.type === "text") {
              // Time to first token: when the first text reached the dispatcher. For a request whose
              // client did not stream, a remote engine asks its upstream for the whole answer and
              // hands it on in one event, so there it is the time until the whole answer arrived.
              firstTokenAt ??= this.#clock.now();
              pool.scheduler.reportTokens(ticket, 1);
              charged += 1;
            } else {
              usage.promptTokens = event.usage.promptTokens;
              usage.completionTokens = event.usage.completionTokens;
              const actual = usage.promptTokens + usage.completionTokens;
              if (actual > charged) pool.scheduler.reportTokens(ticket, actual - charged);
              if (event.finishReason === "cancelled") outcome = "cancelled";
              // Complete once `done` is out, even if the consumer stops reading right after it.
              finished = true;
            }
            sentAny = true;
            yield event;
          }
          finished = true;
          return;
        } catch (error) {
          const canFailOver =
            !sentAny && pool.backend.kind === "remote" && isOstromError(error, "backend_unavailable");
          if (!canFailOver) throw error;
          pool.backend.reportFailure(error);
          lastFailure = error;
        } finally {
          pool.scheduler.release(ticket);
        }
      }
    } catch (error) {
      const code = isOstromError(error) ? error.code : "internal_error";
      errorCode = code;
      outcome =
        code === "request_cancelled" || signal.aborted
          ? "cancelled"
          : isRejection(error)
            ? "rejected"
            : "error";
      if (outcome === "rejected") this.metrics.rejections.inc({ reason: describeRejection(error) });
      throw error;
    } finally {
      if (!finished && outcome === "ok") outcome = "cancelled"; // the consumer stopped reading: a disconnect
      const now = this.#clock.now();
      try {
        await this.#settle(reservation, usage, outcome);
        await this.#account(tracked, endpoint, {
          usage,
          queueWaitMs,
          timeToFirstTokenMs: firstTokenAt === undefined ? null : firstTokenAt - tracked.arrivedAt,
          durationMs: now - tracked.arrivedAt,
          outcome,
          errorCode,
        });
      } finally {
        // Pending until its record is written, so a shutdown that drains waits for the record too.
        this.#active.delete(tracked.id);
      }
    }
  }

  /**
   * Reserves the request's quota. While only reservations of running requests keep it out, the ledger
   * waits (bounded by the queue timeout, ended by the signal) and the caller hears its place, as it
   * does while waiting for a slot.
   */
  async *#reserveQuota(
    ledger: QuotaLedger,
    path: TenantPath,
    tokens: number,
    signal: CancelSignal,
  ): AsyncGenerator<GenerationEvent, QuotaReservation> {
    let position: number | undefined;
    let wake: (() => void) | undefined;
    const timeoutMs = this.#options.queueTimeoutMs;
    // Ends the wait when the client goes away or the consumer stops reading.
    const stopped = new Cancellation();
    const stop = () => stopped.abort();
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stopped.abort();
    const pending = ledger.reserve(path, tokens, {
      signal: stopped,
      maxWaitMs: timeoutMs > 0 ? timeoutMs : Number.POSITIVE_INFINITY,
      onQueued: (place) => {
        position = place;
        wake?.();
      },
    });
    let ended = false;
    const end = pending.then(
      () => {
        ended = true;
      },
      () => {
        ended = true;
      },
    );
    let reserved = false;
    try {
      let sent: number | undefined;
      while (!ended) {
        if (position !== undefined && position !== sent) {
          sent = position;
          yield { type: "queued", position };
          continue;
        }
        await Promise.race([end, new Promise<void>((resolve) => (wake = resolve))]);
        wake = undefined;
      }
      const reservation = await pending;
      reserved = true;
      return reservation;
    } finally {
      // The consumer stopped reading while it waited: end the wait, give back what was reserved anyway.
      signal.removeEventListener("abort", stop);
      if (!reserved) {
        stopped.abort();
        pending.then((reservation) => ledger.cancel(reservation)).catch(() => {});
      }
    }
  }

  async *#waitForSlot(pool: Pool, ticket: Ticket): AsyncGenerator<GenerationEvent> {
    let admitted = false;
    const settled = ticket.admitted.then(
      () => {
        admitted = true;
      },
      () => {},
    );
    let lastPosition: number | undefined;
    const interval = this.#options.positionIntervalMs ?? 500;
    while (!admitted && ticket.state === "queued") {
      const position = pool.scheduler.getPosition(ticket);
      if (position !== undefined && position !== lastPosition) {
        lastPosition = position;
        yield { type: "queued", position };
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, interval)))]);
      clearTimeout(timer);
    }
    await ticket.admitted;
  }

  /**
   * Least outstanding work among healthy backends serving the model, not yet tried by this request;
   * `lastFailure` (of the last one tried) is named when none is left.
   */
  #placeRequest(model: ModelHandle, tried: ReadonlySet<Backend>, lastFailure: Error | undefined): Pool {
    const candidates = this.#options.backends.filter((backend) => backend.serves(model));
    if (candidates.length === 0)
      throw new OstromError("model_not_found", `No backend serves the model ${model.ref}.`, {
        param: "model",
      });
    const available = candidates.filter((backend) => backend.healthy && !tried.has(backend));
    if (available.length === 0)
      throw new OstromError(
        "backend_unavailable",
        `Every backend serving ${model.ref} (${candidates.map((b) => b.name).join(", ")}) is down or failed; retry later.` +
          (lastFailure ? ` Last failure: ${lastFailure.message}` : ""),
        { retryAfterSeconds: 10 },
      );
    let best: Pool | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const backend of available) {
      const pool = this.#getPool(backend, model.ref);
      const load = (pool.scheduler.running + pool.scheduler.queued) / pool.scheduler.capacity;
      if (load < bestLoad) {
        best = pool;
        bestLoad = load;
      }
    }
    if (!best) throw new Error("unreachable: a backend was available");
    best.scheduler.setReservedSlots(this.#options.isShared?.() && best.scheduler.capacity > 1 ? 1 : 0);
    return best;
  }

  #getPool(backend: Backend, model: string): Pool {
    const key = JSON.stringify([backend.name, model]);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = {
        backend,
        model,
        scheduler: new FairScheduler({
          capacity: backend.capacity,
          maxQueued: Math.max(1, this.#options.maxQueued),
          maxQueuedPerKey: Math.max(1, this.#options.maxQueuedPerKey),
          clock: this.#clock,
        }),
      };
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async #settle(
    reservation: QuotaReservation | undefined,
    usage: TokenUsage,
    outcome: Outcome,
  ): Promise<void> {
    const ledger = this.#options.ledger;
    if (!ledger || !reservation) return;
    const used = usage.promptTokens + usage.completionTokens;
    if (used === 0 && outcome !== "ok") await ledger.cancel(reservation);
    else await ledger.settle(reservation, used);
  }

  async #account(
    tracked: Tracked,
    endpoint: Endpoint,
    result: {
      usage: TokenUsage;
      queueWaitMs: number;
      timeToFirstTokenMs: number | null;
      durationMs: number;
      outcome: Outcome;
      errorCode: string | null;
    },
  ): Promise<void> {
    const backend = tracked.pool?.backend.name ?? "";
    const labels = { model: tracked.model, backend, endpoint, outcome: result.outcome };
    this.metrics.requests.inc(labels);
    this.metrics.tokens.inc({ model: tracked.model, kind: "prompt" }, result.usage.promptTokens);
    this.metrics.tokens.inc({ model: tracked.model, kind: "completion" }, result.usage.completionTokens);
    if (result.outcome !== "rejected") {
      this.metrics.latency.observe({ model: tracked.model, endpoint }, result.durationMs / 1000);
      this.metrics.queueWait.observe({ model: tracked.model }, result.queueWaitMs / 1000);
    }
    if (result.timeToFirstTokenMs !== null)
      this.metrics.timeToFirstToken.observe({ model: tracked.model }, result.timeToFirstTokenMs / 1000);
    this.#options.usage?.record({
      requestId: tracked.id,
      at: new Date().toISOString(),
      organizationId: tracked.owner.path.organizationId,
      teamId: tracked.owner.path.teamId,
      apiKeyId: tracked.owner.path.apiKeyId,
      keyName: tracked.owner.keyName,
      model: tracked.model,
      backend,
      endpoint,
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      queueWaitMs: Math.round(result.queueWaitMs),
      timeToFirstTokenMs: result.timeToFirstTokenMs === null ? null : Math.round(result.timeToFirstTokenMs),
      durationMs: Math.round(result.durationMs),
      outcome: result.outcome,
      errorCode: result.errorCode,
    });
  }

  #registerGauges(): void {
    const { registry } = this.metrics;
    registry.register(
      new Gauge("ostrom_queue_depth", "Requests waiting, per pool and API key.", () =>
        this.snapshotPools().flatMap((pool) =>
          pool.tenants.map((tenant) => ({
            labels: {
              backend: pool.backend,
              model: pool.model,
              organization: tenant.organizationId,
              team: tenant.teamId,
              key: tenant.apiKeyId,
            },
            value: tenant.queuedInteractive + tenant.queuedBatch,
          })),
        ),
      ),
    );
    registry.register(
      new Gauge("ostrom_running_requests", "Requests holding a slot, per pool.", () =>
        this.snapshotPools().map((pool) => ({
          labels: { backend: pool.backend, model: pool.model },
          value: pool.running,
        })),
      ),
    );
    registry.register(
      new Gauge("ostrom_backend_healthy", "1 when the backend takes requests, 0 when down.", () =>
        this.#options.backends.map((backend) => ({
          labels: { backend: backend.name },
          value: backend.healthy ? 1 : 0,
        })),
      ),
    );
  }
}

const rejectionCodes = new Set([
  "quota_exceeded",
  "queue_full_tenant",
  "queue_full_global",
  "queue_timeout",
  "shutting_down",
]);

function isRejection(error: unknown): boolean {
  return isOstromError(error) && rejectionCodes.has(error.code);
}

function describeRejection(error: unknown): string {
  if (error instanceof QuotaExceededError) return `quota:${error.reason}`;
  return isOstromError(error) ? error.code : "unknown";
}

/** A reservation if it fits now; undefined if quota keeps it out (the caller may then wait for it). */
async function reserveAtOnce(
  ledger: QuotaLedger,
  path: TenantPath,
  tokens: number,
): Promise<QuotaReservation | undefined> {
  try {
    return await ledger.reserve(path, tokens);
  } catch (error) {
    if (error instanceof QuotaExceededError) return undefined;
    throw error;
  }
}
