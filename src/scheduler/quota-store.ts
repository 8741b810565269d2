// Where quota usage lives: a small storage interface so the ledger's rules (quota-ledger.ts) stay the
// same whether usage is kept in memory (memory-quota-store.ts) or in a database (SQLite/PostgreSQL later).
// The one operation is an atomic read-modify-write of a few scopes, which a database implements as a
// transaction (e.g. SQLite `BEGIN IMMEDIATE`, PostgreSQL `SELECT … FOR UPDATE`).

/** Usage of one scope (an organisation, a team or a key). Plain JSON so any store can keep it. */
export interface ScopeUsage {
  /** Tokens held by reservations not yet settled or cancelled. */
  reservedTokens: number;
  /** Reservations not yet settled or cancelled, i.e. requests in progress. */
  reservedRequests: number;
  /** Settled tokens per 5-second bucket: `[bucketStartMs, tokens]`, oldest first, the last minute only. */
  minuteBuckets: [number, number][];
  /** Start (ms since the Unix epoch) of the UTC day that `dayTokens` counts. */
  dayStart: number;
  /** Settled tokens in that day. */
  dayTokens: number;
}

export interface QuotaStore {
  /**
   * Runs `apply` on the usage of `scopes` (empty usage for scopes never seen) and keeps the changes it
   * makes to those objects, atomically: no other `update` touching any of these scopes interleaves, and
   * if `apply` throws, nothing is kept and the error propagates. `apply` is synchronous and has no other
   * side effects, so a store may run it again on a retried transaction.
   */
  update<T>(scopes: readonly string[], apply: (usage: ReadonlyMap<string, ScopeUsage>) => T): Promise<T>;
}

export function createEmptyScopeUsage(): ScopeUsage {
  return { reservedTokens: 0, reservedRequests: 0, minuteBuckets: [], dayStart: 0, dayTokens: 0 };
}
