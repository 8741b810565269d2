// Durable accounting: one row per finished request (who, which model and backend, tokens, queue wait,
// time to first token, duration, outcome), and summaries of those rows per time bucket and per key,
// team, organisation or model for `ostrom usage` and `GET /v1/usage`. HTTP-free; must not depend on
// the scheduler or the engine.
//
// Recording: a finished request's record is appended to this process's journal (usage-journal.ts)
// with one `write` before the request's response ends, which makes it durable against a killed
// server, and moved into the database with others in one transaction at most `flushIntervalMs`
// later (100 ms by default), or before a summary is read. Records in the journal of a process that
// stopped without moving them (killed) are moved in by the next process that opens the log. A SQLite
// commit per request cost 40–90 µs of a request's time on this machine and its share of the
// gateway's p99; the journal's write costs ~2 µs (docs/benchmarks.md, "Gateway overhead"). When the
// database cannot be written, records stay in memory and in the journal and are tried again; past
// `maxPendingRecords` waiting, recording fails (and so do the requests), rather than growing without
// bound. A process that only summarises opens no journal of its own.
import { invalidParameter, OstromError } from "../errors.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import { tenancyMigrations } from "./tenancy-migrations.ts";
import { readJournals, removeJournal, UsageJournal } from "./usage-journal.ts";

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

/** Records written in one transaction at most; more take several (bounds how long a flush holds the lock). */
export const maxRecordsPerTransaction = 256;
/** Records that may wait for the database; past this, recording fails (see the top of this file). */
export const maxPendingRecords = 100_000;

const insertSql = `INSERT INTO usage_log (request_id, at_ms, organization_id, team_id, api_key_id, key_name, model,
     backend, endpoint, prompt_tokens, completion_tokens, queue_wait_ms, time_to_first_token_ms,
     duration_ms, outcome, error_code)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (request_id) DO NOTHING`;

/** A record waiting in the journal, with its time in milliseconds. */
interface PendingRecord {
  entry: UsageRecord;
  atMs: number;
}

export interface UsageLogOptions {
  /**
   * The folder of the journals (`usage-journal` beside the database). Required to record; journals of
   * stopped processes found there are moved into the database when the log opens.
   */
  journalDirectory?: string;
  /** The longest a record waits in the journal before it is moved into the database. Default 100. */
  flushIntervalMs?: number;
  /**
   * Told when moving records into the database starts failing (once, until it works again); they
   * stay in the journal and are retried every interval.
   */
  onFlushError?: (error: unknown) => void;
  /** Records that may wait for the database before recording fails. Default `maxPendingRecords`. */
  maxPendingRecords?: number;
}

/** What opening the log found in other processes' journals. */
export interface JournalRecovery {
  /** Journal files read (a living process's included: its records are only copied). */
  files: number;
  /** Records moved into the database (those already there included). */
  records: number;
  /** Lines that were not records: cut off by a kill mid-write, or damaged. */
  skipped: number;
}

const summaryColumns = `at_ms, organization_id, team_id, api_key_id, key_name, model, prompt_tokens,
  completion_tokens, time_to_first_token_ms, duration_ms, outcome`;

export class UsageLog {
  /** Opens the log on a database, applying the tenancy migrations and moving stopped journals in. */
  static open(database: SqlDatabase, options: UsageLogOptions = {}): UsageLog {
    database.migrate("tenancy", tenancyMigrations);
    return new UsageLog(database, options);
  }

  readonly recovered: JournalRecovery = { files: 0, records: 0, skipped: 0 };
  readonly #database: SqlDatabase;
  readonly #journal: UsageJournal | undefined;
  readonly #flushIntervalMs: number;
  readonly #onFlushError: ((error: unknown) => void) | undefined;
  readonly #maxPendingRecords: number;
  readonly #pending: PendingRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Whether the last timed flush failed (so a failing database is reported once, not every interval). */
  #failing = false;

  private constructor(database: SqlDatabase, options: UsageLogOptions) {
    this.#database = database;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#onFlushError = options.onFlushError;
    this.#maxPendingRecords = options.maxPendingRecords ?? maxPendingRecords;
    if (options.journalDirectory !== undefined) {
      this.#journal = new UsageJournal(options.journalDirectory);
      this.#recoverJournals(options.journalDirectory);
    }
  }

  /**
   * Records a finished request: durable (in the journal) when this returns, in the database within
   * `flushIntervalMs`. A request id already recorded is kept once, with its first record. Throws
   * `RangeError` for a record that is not one, and the journal's or the database's error when the
   * record cannot be kept.
   */
  record(entry: UsageRecord): void {
    const problem = findRecordProblem(entry);
    if (problem !== undefined) throw new RangeError(`usage record ${String(entry.requestId)}: ${problem}`);
    if (!this.#journal || this.#closed)
      throw new Error("This usage log records nothing: it was opened without a journal, or closed.");
    if (this.#pending.length >= this.#maxPendingRecords) this.flush();
    this.#journal.append(`${JSON.stringify(entry)}\n`);
    this.#pending.push({ entry, atMs: Date.parse(entry.at) });
    this.#timer ??= setTimeout(this.#flushOnTimer, this.#flushIntervalMs).unref();
  }

  /** Moves every waiting record into the database now, then empties the journal; throws if it cannot. */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending.length === 0) return;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.slice(0, maxRecordsPerTransaction);
        this.#database.transaction(() => {
          for (const pending of batch) this.#insert(pending);
        });
        this.#pending.splice(0, batch.length);
      }
    } catch (error) {
      if (!this.#closed) this.#timer ??= setTimeout(this.#flushOnTimer, this.#flushIntervalMs).unref();
      if (this.#pending.length >= this.#maxPendingRecords)
        throw new OstromError(
          "internal_error",
          `${this.#pending.length} usage records are waiting for the database, which cannot be written: ${error}`,
        );
      throw error;
    }
    this.#journal?.clear();
  }

  /** Moves what waits into the database and closes the journal (removed when empty). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.flush();
    } catch (error) {
      // Left in the journal: the next process to open the log moves it in.
      this.#journal?.close(false);
      throw error;
    }
    this.#journal?.close(true);
  }

  readonly #flushOnTimer = (): void => {
    this.#timer = undefined;
    try {
      this.flush();
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#onFlushError?.(error);
      this.#failing = true;
    }
  };

  #recoverJournals(directory: string): void {
    for (const journal of readJournals(directory, this.#journal?.file)) {
      const records: PendingRecord[] = [];
      let skipped = journal.skippedLines;
      for (const entry of journal.entries) {
        if (findRecordProblem(entry as UsageRecord) === undefined) {
          const record = entry as UsageRecord;
          records.push({ entry: record, atMs: Date.parse(record.at) });
        } else skipped += 1;
      }
      this.#database.transaction(() => {
        for (const record of records) this.#insert(record);
      });
      if (!journal.ownerAlive) removeJournal(journal.file);
      this.recovered.files += 1;
      this.recovered.records += records.length;
      this.recovered.skipped += skipped;
    }
  }

  #insert({ entry, atMs }: PendingRecord): void {
    this.#database
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
  }

  /** Rows per bucket and group, oldest bucket first, then by group; records still waiting included. */
  summarize(options: SummarizeUsageOptions): UsageSummaryRow[] {
    this.flush();
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

const stringFields = [
  "requestId",
  "organizationId",
  "teamId",
  "apiKeyId",
  "keyName",
  "model",
  "backend",
] as const;
const countFields = ["promptTokens", "completionTokens", "queueWaitMs", "durationMs"] as const;

/** What makes `entry` no usage record (it may come from a journal, so every field is checked), if anything. */
function findRecordProblem(entry: UsageRecord): string | undefined {
  for (const field of stringFields) if (typeof entry[field] !== "string") return `${field} is not a string`;
  if (entry.requestId === "") return "requestId is empty";
  if (typeof entry.at !== "string" || Number.isNaN(Date.parse(entry.at))) return `invalid time "${entry.at}"`;
  if (!usageEndpoints.includes(entry.endpoint)) return `unknown endpoint "${entry.endpoint}"`;
  if (!usageOutcomes.includes(entry.outcome)) return `unknown outcome "${entry.outcome}"`;
  for (const field of countFields) if (!isCount(entry[field])) return `${field} is not a non-negative number`;
  if (entry.timeToFirstTokenMs !== null && !isCount(entry.timeToFirstTokenMs))
    return "timeToFirstTokenMs is neither null nor a non-negative number";
  if (entry.errorCode !== null && typeof entry.errorCode !== "string")
    return "errorCode is neither null nor a string";
  return undefined;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
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
