// Flags and helpers shared by `ostrom tenant`, `ostrom key` and `ostrom usage`: quota limit flags, how
// limits print, and opening the tenant directory in the data directory's ostrom.db (the file the
// server uses, so the CLI and a running server see the same tenants and keys).
import path from "node:path";
import type { Config } from "../../config/config-schema.ts";
import { invalidParameter } from "../../errors.ts";
import type { QuotaLimits } from "../../scheduler/quota-ledger.ts";
import type { SqlDatabase } from "../../storage/sql-database.ts";
import { openSqliteDatabase } from "../../storage/sqlite/open-sqlite-database.ts";
import type { CommandFlag } from "../command.ts";

type Flags = Record<string, string | boolean | undefined>;

export const limitFlags: Record<string, CommandFlag> = {
  "tokens-per-minute": { type: "string", description: "Quota: tokens (prompt + generated) per minute." },
  "tokens-per-day": { type: "string", description: "Quota: tokens per UTC day." },
  concurrent: { type: "string", description: "Quota: requests in progress at once." },
};

/** The tenancy database: ostrom.db in the data directory, shared with the server and `ostrom kb`. */
export function openTenancyDatabase(config: Pick<Config, "dataDir">): SqlDatabase {
  return openSqliteDatabase(path.join(config.dataDir, "ostrom.db"));
}

/** Limits given as flags; the directory checks their range. */
export function readLimitFlags(flags: Flags): QuotaLimits {
  const limits: QuotaLimits = {};
  const tokensPerMinute = readNumberFlag(flags, "tokens-per-minute");
  const tokensPerDay = readNumberFlag(flags, "tokens-per-day");
  const concurrentRequests = readNumberFlag(flags, "concurrent");
  if (tokensPerMinute !== undefined) limits.tokensPerMinute = tokensPerMinute;
  if (tokensPerDay !== undefined) limits.tokensPerDay = tokensPerDay;
  if (concurrentRequests !== undefined) limits.concurrentRequests = concurrentRequests;
  return limits;
}

export function readNumberFlag(flags: Flags, name: string): number | undefined {
  const raw = flags[name];
  if (typeof raw !== "string") return undefined;
  const value = raw.trim() === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(value))
    throw invalidParameter(name, `--${name} expects a number, got ${JSON.stringify(raw)}.`);
  return value;
}

/** `1000/min 50000/day 4 at once`, or `unlimited`. */
export function formatLimits(limits: QuotaLimits): string {
  const parts = [
    limits.tokensPerMinute === undefined ? undefined : `${limits.tokensPerMinute}/min`,
    limits.tokensPerDay === undefined ? undefined : `${limits.tokensPerDay}/day`,
    limits.concurrentRequests === undefined ? undefined : `${limits.concurrentRequests} at once`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? "unlimited" : parts.join(" ");
}
