// Durable accounting: one row per finished request (who, which model and backend, tokens, queue wait,
// time to first token, duration, outcome), and summaries of those rows per time bucket and per key,
// team, organisation or model for `ostrom usage` and `GET /v1/usage`. HTTP-free; must not depend on
// the scheduler or the engine.
//
// Group commit: `record` does not write at once. Records handed in during one turn of the event loop
// are written together in one transaction when the turn ends (a `setImmediate`), and each caller's
// promise resolves only once that transaction has committed, so a caller that waits for it before
// ending its response (the dispatcher does) still has its row in the SQLite WAL first: a killed server
// loses no finished request. One transaction per record was the largest SQLite cost of a proxied
// request (~36 µs of CPU, four WAL pages written); in turns of 4 a record costs ~16 µs, of 8 ~11 µs
// (docs/benchmarks.md, "Gateway overhead"). A batch that fails is written again record by record, so
// a bad record costs only its own caller, and an error that fails them all (a closed or full
// database) reaches every caller.
import { invalidParameter } from "../errors.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import { tenancyMigrations } from "./tenancy-migrations.ts";

export const usageEndpoints = ["chat", "completion", "embedding"] as const;
export type UsageEndpoint = (typeof usageEndpoints)[number];
export const usageOutcomes = ["ok", "error", "cancelled", "rejected"] as const;
export type UsageOutcome = (typeof usageOutcomes)[number];
export const usageBuckets = ["minute", "hour", "day"] as const;
export type UsageBucket = (typeof usageBuckets)[number];
export const usageGroupings = ["key", "team", "organization", "model"] as const;
export type UsageGrouping = (typeof usageGroupings)[number];

/** What the dispatcher records when a request ends, whatever the outcome. */
export interface UsageRecord {
  /** Unique per request; recording the same id twice keeps the first. */
  requestId: string;
  /** When the request ended, ISO 8601. */
  at: string;
  organizationId: string;
  teamId: string;
  apiKeyId: string;
  keyName: string;
  model: string;
  /** The backend that served it (e.g. `local` or a remote's name); empty when rejected before placement. */
  backend: string;
  endpoint: UsageEndpoint;
  promptTokens: number;
  completionTokens: number;
  queueWaitMs: number;
  /** Null when no token was produced (embeddings, errors before the first token, rejections). */
  timeToFirstTokenMs: number | null;
  durationMs: number;
  outcome: UsageOutcome;
  /** The `OstromError` code of a failed or rejected request, else null. */
  errorCode: string | null;
}

export interface SummarizeUsageOptions {
  /** Start of the period, inclusive. */
  since: Date;
  /** End of the period, exclusive. */
  until: Date;
  bucket: UsageBucket;
  groupBy: UsageGrouping;
  /** Only this key's requests (what a member may see). */
  apiKeyId?: string;
}

export interface UsageSummaryRow {
  /** Start of the bucket, ISO 8601 (UTC). */
  bucketStart: string;
  /** The key id, `organisation/team`, the organisation id or the model, by `groupBy`. */
  group: string;
  /** For keys: the key's name (as last recorded); otherwise the same as `group`. */
  label: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Refused before running (quota, full queue). */
  rejected: number;
  /** Failed or cancelled while running. */
  failed: number;
  /** Mean and 95th percentile duration of the requests that ran (not rejected); null when none did. */
  meanLatencyMs: number | null;
  p95LatencyMs: number | null;
  /** Mean time to first token where there was one; null when none. */
  meanTimeToFirstTokenMs: number | null;
}

const bucketMs: Record<UsageBucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** A summary may span at most this many buckets, which bounds its size and the work behind it. */
export const maxSummaryBuckets = 10_000;

interface UsageRow {
  at_ms: number;
  organization_id: string;
  team_id: string;
  api_key_id: string;
  key_name: string;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  time_to_first_token_ms: number | null;
  duration_ms: number;
  outcome: UsageOutcome;
}

interface Accumulator {
  row: UsageSummaryRow;
  latencies: number[];
  firstTokenTotal: number;
  firstTokenCount: number;
}

/** Records written in one transaction at most; a longer turn's records take several (bounds lock time). */
export const maxRecordsPerTransaction = 256;

const insertSql = `INSERT INTO usage_log (request_id, at_ms, organization_id, team_id, api_key_id, key_name, model,
     backend, endpoint, prompt_tokens, completion_tokens, queue_wait_ms, time_to_first_token_ms,
     duration_ms, outcome, error_code)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (request_id) DO NOTHING`;

/** A record waiting for the end of the turn, with its caller's promise. */
interface PendingRecord {
  entry: UsageRecord;
  atMs: number;
  resolve(inserted: boolean): void;
  reject(error: unknown): void;
}

const summaryColumns = `at_ms, organization_id, team_id, api_key_id, key_name, model, prompt_tokens,
  completion_tokens, time_to_first_token_ms, duration_ms, outcome`;

export class UsageLog {
  /** Opens the log on a database, applying the tenancy migrations. */
  static open(database: SqlDatabase): UsageLog {
    database.migrate("tenancy", tenancyMigrations);
    return new UsageLog(database);
  }

  readonly #database: SqlDatabase;
  #pending: PendingRecord[] = [];

  private constructor(database: SqlDatabase) {
    this.#database = database;
  }

  /**
   * Queues the record for the transaction that ends this turn of the event loop. Resolves once the
   * row is committed (durable: in the WAL), with false when its request id was already recorded;
   * rejects when it could not be written.
   */
  record(entry: UsageRecord): Promise<boolean> {
    const atMs = Date.parse(entry.at);
    if (Number.isNaN(atMs))
      return Promise.reject(new RangeError(`usage record ${entry.requestId}: invalid time "${entry.at}"`));
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(this.#writePending);
      this.#pending.push({ entry, atMs, resolve, reject });
    });
  }

  readonly #writePending = (): void => {
    const pending = this.#pending;
    this.#pending = [];
    if (pending.length <= maxRecordsPerTransaction) this.#writeBatch(pending);
    else
      for (let start = 0; start < pending.length; start += maxRecordsPerTransaction)
        this.#writeBatch(pending.slice(start, start + maxRecordsPerTransaction));
  };

  #writeBatch(batch: readonly PendingRecord[]): void {
    if (batch.length > 1) {
      let inserted: boolean[] | undefined;
      try {
        inserted = this.#database.transaction(() => batch.map((pending) => this.#insert(pending)));
      } catch {
        // Rolled back as a whole: each record gets its own transaction below, and its own outcome.
      }
      if (inserted) {
        for (const [index, pending] of batch.entries()) pending.resolve(inserted[index] === true);
        return;
      }
    }
    for (const pending of batch) {
      try {
        pending.resolve(this.#insert(pending));
      } catch (error) {
        pending.reject(error);
      }
    }
  }

  /** One statement outside a transaction commits on its own. */
  #insert({ entry, atMs }: PendingRecord): boolean {
    const result = this.#database
      .prepare(insertSql)
      .run(
        entry.requestId,
        atMs,
        entry.organizationId,
        entry.teamId,
        entry.apiKeyId,
        entry.keyName,
        entry.model,
        entry.backend,
        entry.endpoint,
        entry.promptTokens,
        entry.completionTokens,
        entry.queueWaitMs,
        entry.timeToFirstTokenMs,
        entry.durationMs,
        entry.outcome,
        entry.errorCode,
      );
    return result.changes === 1;
  }

  /** Rows per bucket and group, oldest bucket first, then by group. */
  summarize(options: SummarizeUsageOptions): UsageSummaryRow[] {
    const since = options.since.getTime();
    const until = options.until.getTime();
    if (Number.isNaN(since)) throw invalidParameter("since", "since is not a valid time.");
    if (Number.isNaN(until)) throw invalidParameter("until", "until is not a valid time.");
    if (since >= until) throw invalidParameter("since", "since must be before until.");
    const width = bucketMs[options.bucket];
    if ((until - since) / width > maxSummaryBuckets)
      throw invalidParameter(
        "bucket",
        `The period spans more than ${maxSummaryBuckets} ${options.bucket}s; use a larger bucket or a shorter period.`,
      );
    // Both queries are range scans on an index: (at_ms) or (api_key_id, at_ms).
    const rows =
      options.apiKeyId === undefined
        ? this.#database
            .prepare<UsageRow>(
              `SELECT ${summaryColumns} FROM usage_log WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms`,
            )
            .iterate(since, until)
        : this.#database
            .prepare<UsageRow>(
              `SELECT ${summaryColumns} FROM usage_log WHERE api_key_id = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms`,
            )
            .iterate(options.apiKeyId, since, until);
    const groups = new Map<string, Accumulator>();
    for (const row of rows) {
      const bucketStart = row.at_ms - (row.at_ms % width);
      const group = getGroup(row, options.groupBy);
      const id = `${bucketStart} ${group}`;
      let accumulator = groups.get(id);
      if (!accumulator) {
        accumulator = {
          row: {
            bucketStart: new Date(bucketStart).toISOString(),
            group,
            label: group,
            requests: 0,
            promptTokens: 0,
            completionTokens: 0,
            rejected: 0,
            failed: 0,
            meanLatencyMs: null,
            p95LatencyMs: null,
            meanTimeToFirstTokenMs: null,
          },
          latencies: [],
          firstTokenTotal: 0,
          firstTokenCount: 0,
        };
        groups.set(id, accumulator);
      }
      const summary = accumulator.row;
      if (options.groupBy === "key") summary.label = row.key_name;
      summary.requests += 1;
      summary.promptTokens += row.prompt_tokens;
      summary.completionTokens += row.completion_tokens;
      if (row.outcome === "rejected") summary.rejected += 1;
      else accumulator.latencies.push(row.duration_ms);
      if (row.outcome === "error" || row.outcome === "cancelled") summary.failed += 1;
      if (row.time_to_first_token_ms !== null) {
        accumulator.firstTokenTotal += row.time_to_first_token_ms;
        accumulator.firstTokenCount += 1;
      }
    }
    const result = [...groups.values()].map(({ row, latencies, firstTokenTotal, firstTokenCount }) => {
      if (latencies.length > 0) {
        latencies.sort((a, b) => a - b);
        row.meanLatencyMs = latencies.reduce((sum, value) => sum + value, 0) / latencies.length;
        row.p95LatencyMs = latencies[Math.ceil(0.95 * latencies.length) - 1]!;
      }
      if (firstTokenCount > 0) row.meanTimeToFirstTokenMs = firstTokenTotal / firstTokenCount;
      return row;
    });
    return result.sort((a, b) =>
      a.bucketStart === b.bucketStart
        ? a.group.localeCompare(b.group)
        : a.bucketStart < b.bucketStart
          ? -1
          : 1,
    );
  }
}

/**
 * Reads a time for `since`/`until`: ISO 8601 (`2025-03-01`, `2025-03-01T10:00:00Z`) or a span before
 * `now` such as `30m`, `24h`, `7d`. Throws `invalid_parameter` naming `param`.
 */
export function parseUsageTime(text: string, now: Date, param: string): Date {
  const relative = /^(\d{1,6})([mhd])$/.exec(text.trim());
  if (relative) {
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "m" | "h" | "d"];
    return new Date(now.getTime() - Number(relative[1]) * unitMs);
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time))
    throw invalidParameter(
      param,
      `${param} must be an ISO 8601 time or a span such as 30m, 24h or 7d; got "${text}".`,
    );
  return new Date(time);
}

function getGroup(row: UsageRow, groupBy: UsageGrouping): string {
  switch (groupBy) {
    case "key":
      return row.api_key_id;
    case "team":
      return `${row.organization_id}/${row.team_id}`;
    case "organization":
      return row.organization_id;
    case "model":
      return row.model;
    default:
      return groupBy satisfies never;
  }
}
