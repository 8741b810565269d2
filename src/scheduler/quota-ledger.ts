// Quotas that hold under concurrency: tokens per minute, tokens per day and concurrent requests, for a
// key, its team and its organisation. A request reserves its maximum (`reserve`), and the reservation is
// replaced by actual usage when it ends (`settle`) or dropped (`cancel`). Reservations count as used, and
// reserving checks and books every level in one atomic store update, all or nothing, so a burst of
// concurrent requests can never overshoot a limit by more than tokens reported beyond their reservation
// (zero when callers reserve `prompt + max_tokens`). Knows nothing of HTTP; storage is a QuotaStore.
//
// Windows:
// - tokens per minute: a sliding window of twelve 5-second buckets. Settled tokens land in the bucket of
//   the settle time and leave the window 60 s after that bucket began, so any 55-second span holds at
//   most the limit and usage frees up gradually rather than all at once on the minute (a fixed window
//   would let a client spend twice the limit around a boundary).
// - tokens per day: a fixed UTC calendar day, the way budgets are understood; it resets at 00:00 UTC.
// - concurrent requests: reservations in progress.
//
// Waiting instead of refusing early. A reservation is an upper bound (for a short chat several times its
// real size), so in a burst the outstanding reservations fill a token window long before real usage does.
// When a token limit (minute or day) is passed *only because of reservations of requests still running*
// — settled usage + this request fits, settled + reserved + this does not — `reserve` does not refuse if
// the caller allows a wait (`deadline` or `maxWaitMs`): it waits until a reservation on a scope that keeps
// it out settles or is cancelled, then checks again, atomically as before (nothing is booked while it
// waits). It refuses with the same 429 `quota_exceeded` as before when:
// - settled usage alone leaves no room (waiting for reservations cannot help; Retry-After says when the
//   window frees), also when that becomes true while it waits (the others settled at their real size);
// - a concurrent-request limit is reached: refused at once, never waited for, as the documented
//   back-pressure (Retry-After 1 s);
// - its wait bound passes (the limit still passed, Retry-After 1 s or when settled tokens leave the
//   minute window, and how long it waited);
// - `maxWaiting` requests already wait, or the caller gave no bound (it is answered at once).
// An aborted `signal` ends a wait with `request_cancelled` (499) and nothing booked; `close` ends every
// wait with `shutting_down`.
//
// Order. Waiters are checked one at a time in arrival order, so room freed on a scope goes to the
// earliest waiter on that scope it fits; one that still does not fit keeps its place and those behind
// it are checked too (a later waiter on the same scope asking at least as many tokens is skipped until
// something changes: it cannot fit either). A request arriving while others wait for room on one of its
// scopes queues behind them instead of taking freed room first. Not done on purpose: holding room back
// for a large waiter, so a steady stream of smaller requests that fit can keep a large one waiting
// until its bound. Settles and cancels in this process wake the waiters of their scopes at once; since
// a store may be shared by several processes, waiters are also re-checked every `recheckIntervalMs`
// (one clock timer for all, only while someone waits, never keeping the process alive; `close` clears
// it, as it clears each waiter's deadline timer).
//
// Paths without any limit (no limit on the key, its team or its organisation, e.g. the local user of a
// server without keys) are not booked: `reserve` writes nothing, and `settle` adds the tokens used to
// an in-memory tally that is written to the minute and day windows in one transaction per
// `flushDelayMs` (and before any booked reservation or usage read), instead of two transactions per
// request — the quota store was the largest cost of a proxied request (docs/benchmarks.md, "Gateway
// overhead"). What this gives up, on purpose: such requests are not counted in `concurrentRequests`
// nor `reservedTokens` while they run, and a server killed without shutting down loses up to
// `flushDelayMs` of their usage from the windows (the usage log, src/tenancy/usage-log.ts, still has
// every request). A limit added later holds for every request that starts after it: limits are read
// on each `reserve` (and on each re-check of a waiting one; `getLimits` may cache them, as the tenant
// directory does: changes made in this process are seen at once, changes made by another process
// sharing the database within its `limitsTtlMs`, 1 s by default), and the windows hold all settled usage,
// booked or not; only requests already running when it was added escape its concurrency count, until
// they end.

import { OstromError } from "../errors.ts";
import type { CancelSignal } from "../util/cancel-signal.ts";
import {
  QuotaExceededError,
  type QuotaKind,
  type QuotaLevel,
  type QuotaLimitHit,
} from "./quota-exceeded-error.ts";
import type { QuotaStore, ScopeUsage } from "./quota-store.ts";
import type { SchedulerClock, TimerHandle } from "./scheduler-clock.ts";
import { systemClock } from "./scheduler-clock.ts";
import { getTenantNodeKeys, type TenantPath } from "./tenant-path.ts";

/** Limits of one level; a missing field means unlimited. */
export interface QuotaLimits {
  tokensPerMinute?: number;
  tokensPerDay?: number;
  concurrentRequests?: number;
}

export type PathQuotaLimits = Partial<Record<QuotaLevel, QuotaLimits>>;

export interface QuotaLedgerOptions {
  store: QuotaStore;
  /** The limits that apply to a path's key, team and organisation; a missing level is unlimited. */
  getLimits: (path: TenantPath) => PathQuotaLimits | Promise<PathQuotaLimits>;
  /** Default: wall-clock time (day quotas need Unix-epoch milliseconds). */
  clock?: SchedulerClock;
  /** How long usage of paths without any limit may wait in memory before it is written, in ms. Default 1000. */
  flushDelayMs?: number;
  /**
   * How often waiting reservations are checked again although nothing settled in this process (a
   * settle by another process sharing the store), in ms. Default 250.
   */
  recheckIntervalMs?: number;
  /** Most requests that may wait for reservations at once; beyond it they are refused at once. Default 1024. */
  maxWaiting?: number;
}

/** How `reserve` may wait while reservations of running requests fill a token limit. */
export interface ReserveOptions {
  /** Ends a wait: `reserve` rejects with `request_cancelled` and nothing is booked. */
  signal?: CancelSignal;
  /** Time on the ledger's clock after which a wait ends in 429 `quota_exceeded`. */
  deadline?: number;
  /**
   * Longest wait from the call, in ms; `Infinity` waits until `signal` (or `close`). With neither this
   * nor `deadline`, `reserve` does not wait: it refuses at once, as it did before waits existed.
   */
  maxWaitMs?: number;
  /** Told the request's 1-based place among those waiting on its scopes, when it starts waiting and on each change. */
  onQueued?: (position: number) => void;
}

/** Tokens held for one request until `settle` or `cancel`. */
export interface QuotaReservation {
  readonly path: TenantPath;
  readonly tokens: number;
  readonly createdAt: number;
}

export interface LevelUsage {
  tokensLastMinute: number;
  tokensToday: number;
  reservedTokens: number;
  concurrentRequests: number;
}

const bucketMs = 5_000;
const windowMs = 60_000;
const dayMs = 86_400_000;
const levels = ["apiKey", "team", "organization"] as const satisfies readonly QuotaLevel[];

interface Violation {
  hit: QuotaLimitHit;
  /** The scope whose limit is passed. */
  scope: string;
  /** Passed only because of outstanding reservations: it may fit once they settle. */
  waitable: boolean;
  retryAfterMs: number | undefined;
  message: string;
}

/** Thrown inside a store update so that a refusal writes nothing; caught right outside it. */
class Refusal extends Error {
  readonly violations: readonly Violation[];
  constructor(violations: readonly Violation[]) {
    super("quota refusal");
    this.violations = violations;
  }
}

type Attempt =
  | { kind: "reserved"; reservation: QuotaReservation }
  /** Every violation is waitable. */
  | { kind: "blocked"; violations: readonly Violation[] }
  | { kind: "refused"; violations: readonly Violation[] };

/** A `reserve` call waiting for reservations to settle. */
interface Waiter {
  readonly path: TenantPath;
  readonly tokens: number;
  readonly scopes: readonly string[];
  readonly startedAt: number;
  readonly onQueued: ((position: number) => void) | undefined;
  /** What kept it out at its last check; empty before its first check. */
  violations: readonly Violation[];
  /** To be checked again. */
  due: boolean;
  /** Its bound passed before its first check: refuse after that check unless it fits. */
  expired: boolean;
  position: number | undefined;
  timer: TimerHandle | undefined;
  detachSignal: (() => void) | undefined;
  resolve: (reservation: QuotaReservation) => void;
  reject: (error: unknown) => void;
}

export class QuotaLedger {
  readonly #store: QuotaStore;
  readonly #getLimits: QuotaLedgerOptions["getLimits"];
  readonly #clock: SchedulerClock;
  readonly #open = new WeakSet<QuotaReservation>();
  /** Open reservations of paths with no limit at all: nothing was booked for them in the store. */
  readonly #unbooked = new WeakSet<QuotaReservation>();
  /** Tokens settled by unbooked reservations and not yet written, per scope (every level of their path). */
  readonly #unwritten = new Map<string, number>();
  readonly #flushDelayMs: number;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #recheckIntervalMs: number;
  readonly #maxWaiting: number;
  /** Waiting `reserve` calls, in arrival order. */
  readonly #waiters: Waiter[] = [];
  /** Counts events that may free room (settles, cancels, periodic re-checks). */
  #generation = 0;
  #draining = false;
  #recheckTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: QuotaLedgerOptions) {
    this.#store = options.store;
    this.#getLimits = options.getLimits;
    this.#clock = options.clock ?? systemClock;
    this.#flushDelayMs = options.flushDelayMs ?? 1000;
    this.#recheckIntervalMs = Math.max(1, options.recheckIntervalMs ?? 250);
    this.#maxWaiting = Math.max(0, options.maxWaiting ?? 1024);
  }

  /** Requests waiting for reservations to settle. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Reserves `maxTokens` (and one concurrent request) at every level, or nothing. When only outstanding
   * reservations keep it out of a token limit and `options` allow a wait, waits for them to settle (see
   * the top of this file). Otherwise throws a `QuotaExceededError` (`quota_exceeded`, 429) naming the
   * limit that keeps the request out longest, with `retryAfterSeconds` when waiting can help. A path with
   * no limit at any level books nothing (see the top of this file).
   */
  async reserve(
    path: TenantPath,
    maxTokens: number,
    options: ReserveOptions = {},
  ): Promise<QuotaReservation> {
    if (!Number.isFinite(maxTokens) || maxTokens < 0)
      throw new RangeError("maxTokens must be finite and ≥ 0");
    if (options.signal?.aborted) throw createCancelledError();
    const startedAt = this.#clock.now();
    const waitEnd = getWaitEnd(options, startedAt);
    const canWait = () =>
      waitEnd !== undefined &&
      waitEnd > this.#clock.now() &&
      !this.#closed &&
      this.#waiters.length < this.#maxWaiting;
    const scopes = Object.values(getScopes(path));
    // Others wait for room on one of these scopes: queue behind them and be checked after them, so that
    // room freed by a settle whose wake is still on its way goes to the earliest first.
    const ahead = this.#waiters.filter((waiter) => isBlockedOnAny(waiter, scopes));
    if (ahead.length > 0 && canWait()) {
      for (const waiter of ahead) waiter.due = true;
      return this.#wait(path, maxTokens, options, startedAt, waitEnd, [], true);
    }
    const generation = this.#generation;
    const attempt = await this.#attempt(path, maxTokens);
    if (attempt.kind === "reserved") return attempt.reservation;
    if (attempt.kind === "refused" || !canWait()) throw toError(attempt.violations);
    if (options.signal?.aborted) throw createCancelledError();
    // A settle between the check and now would have found no waiter to wake: check again at once.
    return this.#wait(
      path,
      maxTokens,
      options,
      startedAt,
      waitEnd,
      attempt.violations,
      generation !== this.#generation,
    );
  }

  /**
   * Replaces the reservation by `actualTokens` of usage, counted at the current time. Tokens beyond the
   * reservation are still recorded (usage is never hidden), which is the only way a limit can be
   * overshot. Calling it (or `cancel`) again does nothing.
   */
  async settle(reservation: QuotaReservation, actualTokens: number): Promise<void> {
    await this.#finish(reservation, Math.max(0, actualTokens));
  }

  /** Drops the reservation without usage, e.g. when the request never started. */
  async cancel(reservation: QuotaReservation): Promise<void> {
    await this.#finish(reservation, 0);
  }

  /**
   * Ends every wait with `shutting_down` and stops the re-check timer; later calls to `reserve` no
   * longer wait (they are answered at once). Reservations, settles and `flush` keep working.
   */
  close(): void {
    this.#closed = true;
    const error = new OstromError("shutting_down", "The server is shutting down.");
    for (const waiter of [...this.#waiters]) this.#dropWaiter(waiter, { error });
    this.#stopRecheckTimer();
  }

  /**
   * Writes the usage of unbooked requests that is still in memory, in one store transaction. Runs by
   * itself `flushDelayMs` after such usage arrives; call it before closing the store. If the store
   * fails, the usage is kept for the next attempt and the error propagates.
   */
  async flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#unwritten.size === 0) return;
    const batch = new Map(this.#unwritten);
    this.#unwritten.clear();
    try {
      await this.#store.update([...batch.keys()], (usage) => {
        const now = this.#clock.now();
        for (const [scope, tokens] of batch) {
          const scopeUsage = usage.get(scope)!;
          advanceWindows(scopeUsage, now);
          addSettledTokens(scopeUsage, tokens, now);
        }
      });
    } catch (error) {
      for (const [scope, tokens] of batch) this.#addUnwritten(scope, tokens);
      throw error;
    }
  }

  /** Current usage of each level of `path`, for `ostrom usage` and the admin API. */
  async getUsage(path: TenantPath): Promise<Record<QuotaLevel, LevelUsage>> {
    if (this.#unwritten.size > 0) await this.flush();
    const scopes = getScopes(path);
    return this.#store.update(Object.values(scopes), (usage) => {
      const now = this.#clock.now();
      const result = {} as Record<QuotaLevel, LevelUsage>;
      for (const level of levels) {
        const scopeUsage = usage.get(scopes[level])!;
        advanceWindows(scopeUsage, now);
        result[level] = {
          tokensLastMinute: sumMinute(scopeUsage),
          tokensToday: scopeUsage.dayTokens,
          reservedTokens: scopeUsage.reservedTokens,
          concurrentRequests: scopeUsage.reservedRequests,
        };
      }
      return result;
    });
  }

  /** One atomic check-and-book with the current limits; refusals write nothing. */
  async #attempt(path: TenantPath, maxTokens: number): Promise<Attempt> {
    const limits = await this.#getLimits(path);
    if (!hasAnyLimit(limits)) {
      const unbooked: QuotaReservation = { path, tokens: maxTokens, createdAt: this.#clock.now() };
      this.#open.add(unbooked);
      this.#unbooked.add(unbooked);
      return { kind: "reserved", reservation: unbooked };
    }
    // Usage waiting in memory counts against limits like any other.
    if (this.#unwritten.size > 0) await this.flush();
    const scopes = getScopes(path);
    try {
      const reservation = await this.#store.update(Object.values(scopes), (usage) => {
        const now = this.#clock.now();
        const violations: Violation[] = [];
        for (const level of levels) {
          const levelLimits = limits[level];
          if (levelLimits === undefined) continue;
          const scopeUsage = usage.get(scopes[level])!;
          advanceWindows(scopeUsage, now);
          violations.push(...findViolations(level, scopes[level], levelLimits, scopeUsage, maxTokens, now));
        }
        if (violations.length > 0) throw new Refusal(violations);
        for (const level of levels) {
          const scopeUsage = usage.get(scopes[level])!;
          advanceWindows(scopeUsage, now);
          scopeUsage.reservedTokens += maxTokens;
          scopeUsage.reservedRequests += 1;
        }
        return { path, tokens: maxTokens, createdAt: now } satisfies QuotaReservation;
      });
      this.#open.add(reservation);
      return { kind: "reserved", reservation };
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      const waitable = error.violations.every((violation) => violation.waitable);
      return { kind: waitable ? "blocked" : "refused", violations: error.violations };
    }
  }

  #wait(
    path: TenantPath,
    tokens: number,
    options: ReserveOptions,
    startedAt: number,
    waitEnd: number | undefined,
    violations: readonly Violation[],
    due: boolean,
  ): Promise<QuotaReservation> {
    return new Promise<QuotaReservation>((resolve, reject) => {
      const waiter: Waiter = {
        path,
        tokens,
        scopes: Object.values(getScopes(path)),
        startedAt,
        onQueued: options.onQueued,
        violations,
        due,
        expired: false,
        position: undefined,
        timer: undefined,
        detachSignal: undefined,
        resolve,
        reject,
      };
      this.#waiters.push(waiter);
      const signal = options.signal;
      if (signal) {
        const onAbort = () => this.#dropWaiter(waiter, { error: createCancelledError() });
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detachSignal = () => signal.removeEventListener("abort", onAbort);
      }
      if (waitEnd !== undefined && Number.isFinite(waitEnd))
        waiter.timer = this.#clock.setTimer(() => this.#expire(waiter), waitEnd - this.#clock.now());
      this.#startRecheckTimer();
      if (!this.#draining) this.#reportPositions();
      if (due) this.#drain();
    });
  }

  /** The wait bound passed: refuse with what kept it out, or, if never checked, right after its check. */
  #expire(waiter: Waiter): void {
    waiter.timer = undefined;
    if (waiter.violations.length > 0) {
      this.#dropWaiter(waiter, { error: toError(waiter.violations, this.#clock.now() - waiter.startedAt) });
      return;
    }
    waiter.expired = true;
    waiter.due = true;
    this.#drain();
  }

  #dropWaiter(waiter: Waiter, outcome: { reservation: QuotaReservation } | { error: unknown }): void {
    const index = this.#waiters.indexOf(waiter);
    if (index < 0) return;
    this.#waiters.splice(index, 1);
    if (waiter.timer !== undefined) this.#clock.clearTimer(waiter.timer);
    waiter.timer = undefined;
    waiter.detachSignal?.();
    if (this.#waiters.length === 0) this.#stopRecheckTimer();
    else if (!this.#draining) this.#reportPositions();
    if ("reservation" in outcome) waiter.resolve(outcome.reservation);
    else waiter.reject(outcome.error);
  }

  /**
   * Checks due waiters one at a time, earliest first, until none is due. Runs at most once at a time;
   * waiters made due while it runs are picked up by the running pass.
   */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    void this.#runDrain().finally(() => {
      this.#draining = false;
      this.#reportPositions();
    });
  }

  async #runDrain(): Promise<void> {
    // Scope → fewest tokens refused on it since the last event that may have freed room: a later
    // waiter on that scope asking as many or more cannot fit either, and is left for the next event.
    const refusedAt = new Map<string, number>();
    let generation = this.#generation;
    for (;;) {
      if (generation !== this.#generation) {
        refusedAt.clear();
        generation = this.#generation;
      }
      const waiter = this.#waiters.find((candidate) => candidate.due);
      if (!waiter) return;
      waiter.due = false;
      if (
        !waiter.expired &&
        waiter.scopes.some((scope) => (refusedAt.get(scope) ?? Infinity) <= waiter.tokens)
      )
        continue;
      const checkedAt = this.#generation;
      let attempt: Attempt;
      try {
        attempt = await this.#attempt(waiter.path, waiter.tokens);
      } catch (error) {
        this.#dropWaiter(waiter, { error });
        continue;
      }
      if (!this.#waiters.includes(waiter)) {
        // Aborted or timed out while being checked: give back what was booked for nobody.
        if (attempt.kind === "reserved") await this.cancel(attempt.reservation).catch(() => {});
        continue;
      }
      if (attempt.kind === "reserved") {
        this.#dropWaiter(waiter, { reservation: attempt.reservation });
        continue;
      }
      waiter.violations = attempt.violations;
      if (attempt.kind === "refused" || waiter.expired) {
        this.#dropWaiter(waiter, {
          error: toError(attempt.violations, this.#clock.now() - waiter.startedAt),
        });
        continue;
      }
      if (checkedAt === this.#generation)
        for (const violation of attempt.violations)
          refusedAt.set(violation.scope, Math.min(refusedAt.get(violation.scope) ?? Infinity, waiter.tokens));
    }
  }

  /** Marks waiters on any of `scopes` (all when undefined) due, after an event that may have freed room. */
  #wake(scopes: readonly string[] | undefined): void {
    this.#generation += 1;
    let any = false;
    for (const waiter of this.#waiters)
      if (scopes === undefined || isBlockedOnAny(waiter, scopes)) {
        waiter.due = true;
        any = true;
      }
    if (any) this.#drain();
  }

  #startRecheckTimer(): void {
    if (this.#recheckTimer !== undefined || this.#waiters.length === 0) return;
    this.#recheckTimer = this.#clock.setTimer(() => {
      this.#recheckTimer = undefined;
      // Room may have been freed by another process sharing the store.
      this.#wake(undefined);
      this.#startRecheckTimer();
    }, this.#recheckIntervalMs);
  }

  #stopRecheckTimer(): void {
    if (this.#recheckTimer !== undefined) this.#clock.clearTimer(this.#recheckTimer);
    this.#recheckTimer = undefined;
  }

  /**
   * A waiter's place: 1 + the waiters ahead of it on the most crowded scope that keeps it out (all its
   * scopes before its first check). Reported only when it changed.
   */
  #reportPositions(): void {
    const ahead = new Map<string, number>();
    for (const waiter of this.#waiters) {
      if (waiter.onQueued) {
        const blocking = getBlockingScopes(waiter);
        const position = 1 + Math.max(...blocking.map((scope) => ahead.get(scope) ?? 0));
        if (position !== waiter.position) {
          waiter.position = position;
          try {
            waiter.onQueued(position);
          } catch {
            // A listener's failure must not stop the ledger from serving the other waiters.
          }
        }
      }
      for (const scope of waiter.scopes) ahead.set(scope, (ahead.get(scope) ?? 0) + 1);
    }
  }

  async #finish(reservation: QuotaReservation, actualTokens: number): Promise<void> {
    if (!this.#open.has(reservation)) return;
    this.#open.delete(reservation);
    const scopes = getScopes(reservation.path);
    if (this.#unbooked.has(reservation)) {
      // Nothing was booked: only the usage is to be written, with others, soon (see `flush`).
      if (actualTokens > 0) for (const level of levels) this.#addUnwritten(scopes[level], actualTokens);
      return;
    }
    await this.#store.update(Object.values(scopes), (usage) => {
      const now = this.#clock.now();
      for (const level of levels) {
        const scopeUsage = usage.get(scopes[level])!;
        advanceWindows(scopeUsage, now);
        scopeUsage.reservedTokens = Math.max(0, scopeUsage.reservedTokens - reservation.tokens);
        scopeUsage.reservedRequests = Math.max(0, scopeUsage.reservedRequests - 1);
        if (actualTokens > 0) addSettledTokens(scopeUsage, actualTokens, now);
      }
    });
    this.#wake(Object.values(scopes));
  }

  #addUnwritten(scope: string, tokens: number): void {
    this.#unwritten.set(scope, (this.#unwritten.get(scope) ?? 0) + tokens);
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      // A failed write puts the usage back and schedules another attempt.
      this.flush().catch(() => {});
    }, this.#flushDelayMs);
    this.#flushTimer.unref?.();
  }
}

/** The scopes whose limits keep a waiter out; all of its scopes before its first check. */
function getBlockingScopes(waiter: Waiter): readonly string[] {
  return waiter.violations.length > 0 ? waiter.violations.map((violation) => violation.scope) : waiter.scopes;
}

function isBlockedOnAny(waiter: Waiter, scopes: readonly string[]): boolean {
  return getBlockingScopes(waiter).some((scope) => scopes.includes(scope));
}

/** The clock time a wait may last until, or undefined when the caller gives no bound (no wait). */
function getWaitEnd(options: ReserveOptions, now: number): number | undefined {
  const ends: number[] = [];
  if (options.deadline !== undefined) ends.push(options.deadline);
  if (options.maxWaitMs !== undefined) ends.push(now + Math.max(0, options.maxWaitMs));
  return ends.length === 0 ? undefined : Math.min(...ends);
}

function createCancelledError(): OstromError {
  return new OstromError("request_cancelled", "The request was cancelled while waiting for its quota.");
}

/** Whether any level sets any limit (a level present with every field unset limits nothing). */
function hasAnyLimit(limits: PathQuotaLimits): boolean {
  for (const level of levels) {
    const levelLimits = limits[level];
    if (
      levelLimits !== undefined &&
      (levelLimits.tokensPerMinute !== undefined ||
        levelLimits.tokensPerDay !== undefined ||
        levelLimits.concurrentRequests !== undefined)
    )
      return true;
  }
  return false;
}

function getScopes(path: TenantPath): Record<QuotaLevel, string> {
  const keys = getTenantNodeKeys(path);
  return { apiKey: keys.apiKey, team: keys.team, organization: keys.organization };
}

/** Counts settled tokens in the minute bucket of `now` and in the day. */
function addSettledTokens(usage: ScopeUsage, tokens: number, now: number): void {
  const bucketStart = now - (now % bucketMs);
  const last = usage.minuteBuckets.at(-1);
  if (last !== undefined && last[0] === bucketStart) last[1] += tokens;
  else usage.minuteBuckets.push([bucketStart, tokens]);
  usage.dayTokens += tokens;
}

/** Drops buckets that left the minute window and rolls the day over. */
function advanceWindows(usage: ScopeUsage, now: number): void {
  const oldestKept = now - (now % bucketMs) - (windowMs - bucketMs);
  usage.minuteBuckets = usage.minuteBuckets.filter(([start]) => start >= oldestKept);
  const dayStart = now - (now % dayMs);
  if (usage.dayStart !== dayStart) {
    usage.dayStart = dayStart;
    usage.dayTokens = 0;
  }
}

function sumMinute(usage: ScopeUsage): number {
  return usage.minuteBuckets.reduce((sum, [, tokens]) => sum + tokens, 0);
}

function findViolations(
  level: QuotaLevel,
  scope: string,
  limits: QuotaLimits,
  usage: ScopeUsage,
  tokens: number,
  now: number,
): Violation[] {
  const violations: Violation[] = [];
  const hit = (kind: QuotaKind, limit: number) => ({ level, kind, limit });
  const { concurrentRequests, tokensPerMinute, tokensPerDay } = limits;
  if (concurrentRequests !== undefined && usage.reservedRequests + 1 > concurrentRequests)
    violations.push({
      hit: hit("concurrentRequests", concurrentRequests),
      scope,
      // Refused at once, never waited for: this is the back-pressure callers are promised.
      waitable: false,
      // Unknown: it depends on when a running request ends.
      retryAfterMs: concurrentRequests > 0 ? 1000 : undefined,
      message: `${usage.reservedRequests} requests are already in progress, the limit of ${concurrentRequests}`,
    });
  if (tokensPerMinute !== undefined) {
    const settled = sumMinute(usage);
    const excess = settled + usage.reservedTokens + tokens - tokensPerMinute;
    if (excess > 0) {
      let retryAfterMs: number | undefined;
      if (tokens <= tokensPerMinute) {
        // Wait until enough settled buckets leave the window; if reservations block, retry soon.
        let freed = 0;
        retryAfterMs = 1000;
        for (const [start, bucketTokens] of usage.minuteBuckets) {
          freed += bucketTokens;
          if (freed >= excess) {
            retryAfterMs = start + windowMs - now;
            break;
          }
        }
      }
      violations.push({
        hit: hit("tokensPerMinute", tokensPerMinute),
        scope,
        waitable: settled + tokens <= tokensPerMinute,
        retryAfterMs,
        message:
          tokens > tokensPerMinute
            ? `the request may use ${tokens} tokens, more than the limit of ${tokensPerMinute} per minute`
            : `it would pass the limit of ${tokensPerMinute} tokens per minute`,
      });
    }
  }
  if (tokensPerDay !== undefined && usage.dayTokens + usage.reservedTokens + tokens > tokensPerDay) {
    const waitable = usage.dayTokens + tokens <= tokensPerDay;
    violations.push({
      hit: hit("tokensPerDay", tokensPerDay),
      scope,
      waitable,
      // Held by reservations only: room comes back when they settle, so retry soon; else at midnight.
      retryAfterMs: waitable ? 1000 : tokens <= tokensPerDay ? usage.dayStart + dayMs - now : undefined,
      message:
        tokens > tokensPerDay
          ? `the request may use ${tokens} tokens, more than the limit of ${tokensPerDay} per day`
          : `it would pass the limit of ${tokensPerDay} tokens per day (UTC)`,
    });
  }
  return violations;
}

const levelNames: Record<QuotaLevel, string> = {
  apiKey: "API key",
  team: "team",
  organization: "organisation",
};

/**
 * The violation that keeps the request out longest decides the error (never-satisfiable first).
 * `waitedMs`: how long the request waited for reservations to settle, said in the message.
 */
function toError(violations: readonly Violation[], waitedMs?: number): QuotaExceededError {
  let worst = violations[0]!;
  for (const violation of violations) {
    const rank = violation.retryAfterMs ?? Number.POSITIVE_INFINITY;
    if (rank > (worst.retryAfterMs ?? Number.POSITIVE_INFINITY)) worst = violation;
  }
  const retryAfterSeconds =
    worst.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(worst.retryAfterMs / 1000));
  const waited =
    waitedMs === undefined || waitedMs <= 0
      ? ""
      : `, after waiting ${formatSeconds(waitedMs)} for running requests to settle`;
  return new QuotaExceededError(
    worst.hit,
    `Quota of the ${levelNames[worst.hit.level]} exceeded: ${worst.message}${waited}.`,
    retryAfterSeconds,
  );
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}
