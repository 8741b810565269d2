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
// Paths without any limit (no limit on the key, its team or its organisation, e.g. the local user of a
// server without keys) are not booked: `reserve` writes nothing, and `settle` adds the tokens used to
// an in-memory tally that is written to the minute and day windows in one transaction per
// `flushDelayMs` (and before any booked reservation or usage read), instead of two transactions per
// request — the quota store was the largest cost of a proxied request (docs/benchmarks.md, "Gateway
// overhead"). What this gives up, on purpose: such requests are not counted in `concurrentRequests`
// nor `reservedTokens` while they run, and a server killed without shutting down loses up to
// `flushDelayMs` of their usage from the windows (the usage log, src/tenancy/usage-log.ts, still has
// every request). A limit added later holds for every request that starts after it: limits are read
// on each `reserve`, and the windows hold all settled usage, booked or not; only requests already
// running when it was added escape its concurrency count, until they end.

import {
  QuotaExceededError,
  type QuotaKind,
  type QuotaLevel,
  type QuotaLimitHit,
} from "./quota-exceeded-error.ts";
import type { QuotaStore, ScopeUsage } from "./quota-store.ts";
import type { SchedulerClock } from "./scheduler-clock.ts";
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
  retryAfterMs: number | undefined;
  message: string;
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

  constructor(options: QuotaLedgerOptions) {
    this.#store = options.store;
    this.#getLimits = options.getLimits;
    this.#clock = options.clock ?? systemClock;
    this.#flushDelayMs = options.flushDelayMs ?? 1000;
  }

  /**
   * Reserves `maxTokens` (and one concurrent request) at every level, or nothing. Throws a
   * `QuotaExceededError` (`quota_exceeded`, 429) naming the limit that keeps the request out longest,
   * with `retryAfterSeconds` when waiting can help. A path with no limit at any level books nothing
   * (see the top of this file).
   */
  async reserve(path: TenantPath, maxTokens: number): Promise<QuotaReservation> {
    if (!Number.isFinite(maxTokens) || maxTokens < 0)
      throw new RangeError("maxTokens must be finite and ≥ 0");
    const limits = await this.#getLimits(path);
    if (!hasAnyLimit(limits)) {
      const unbooked: QuotaReservation = { path, tokens: maxTokens, createdAt: this.#clock.now() };
      this.#open.add(unbooked);
      this.#unbooked.add(unbooked);
      return unbooked;
    }
    // Usage waiting in memory counts against limits like any other.
    if (this.#unwritten.size > 0) await this.flush();
    const scopes = getScopes(path);
    const reservation = await this.#store.update(Object.values(scopes), (usage) => {
      const now = this.#clock.now();
      const violations: Violation[] = [];
      for (const level of levels) {
        const levelLimits = limits[level];
        if (levelLimits === undefined) continue;
        const scopeUsage = usage.get(scopes[level])!;
        advanceWindows(scopeUsage, now);
        violations.push(...findViolations(level, levelLimits, scopeUsage, maxTokens, now));
      }
      if (violations.length > 0) throw toError(violations);
      for (const level of levels) {
        const scopeUsage = usage.get(scopes[level])!;
        advanceWindows(scopeUsage, now);
        scopeUsage.reservedTokens += maxTokens;
        scopeUsage.reservedRequests += 1;
      }
      return { path, tokens: maxTokens, createdAt: now } satisfies QuotaReservation;
    });
    this.#open.add(reservation);
    return reservation;
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
      // Unknown: it depends on when a running request ends.
      retryAfterMs: concurrentRequests > 0 ? 1000 : undefined,
      message: `${usage.reservedRequests} requests are already in progress, the limit of ${concurrentRequests}`,
    });
  if (tokensPerMinute !== undefined) {
    const excess = sumMinute(usage) + usage.reservedTokens + tokens - tokensPerMinute;
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
        retryAfterMs,
        message:
          tokens > tokensPerMinute
            ? `the request may use ${tokens} tokens, more than the limit of ${tokensPerMinute} per minute`
            : `it would pass the limit of ${tokensPerMinute} tokens per minute`,
      });
    }
  }
  if (tokensPerDay !== undefined && usage.dayTokens + usage.reservedTokens + tokens > tokensPerDay)
    violations.push({
      hit: hit("tokensPerDay", tokensPerDay),
      retryAfterMs: tokens <= tokensPerDay ? usage.dayStart + dayMs - now : undefined,
      message:
        tokens > tokensPerDay
          ? `the request may use ${tokens} tokens, more than the limit of ${tokensPerDay} per day`
          : `it would pass the limit of ${tokensPerDay} tokens per day (UTC)`,
    });
  return violations;
}

const levelNames: Record<QuotaLevel, string> = {
  apiKey: "API key",
  team: "team",
  organization: "organisation",
};

/** The violation that keeps the request out longest decides the error (never-satisfiable first). */
function toError(violations: readonly Violation[]): QuotaExceededError {
  let worst = violations[0]!;
  for (const violation of violations) {
    const rank = violation.retryAfterMs ?? Number.POSITIVE_INFINITY;
    if (rank > (worst.retryAfterMs ?? Number.POSITIVE_INFINITY)) worst = violation;
  }
  const retryAfterSeconds =
    worst.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(worst.retryAfterMs / 1000));
  return new QuotaExceededError(
    worst.hit,
    `Quota of the ${levelNames[worst.hit.level]} exceeded: ${worst.message}.`,
    retryAfterSeconds,
  );
}
