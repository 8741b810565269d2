// The QuotaStore on SQLite: one row per scope holding its ScopeUsage as JSON, so quotas survive a
// restart and hold across several server processes sharing one database file. Each `update` is one
// `BEGIN IMMEDIATE` transaction: it takes the write lock before reading, so two processes can never
// both read the same usage and both book on it (a deferred transaction could, and would then fail to
// upgrade its lock). SQLite-specific by nature; a PostgreSQL store would use `SELECT … FOR UPDATE`.
// Must not depend on the tenant directory or on HTTP.
import { createEmptyScopeUsage, type QuotaStore, type ScopeUsage } from "../scheduler/quota-store.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import { tenancyMigrations } from "./tenancy-migrations.ts";

export class SqliteQuotaStore implements QuotaStore {
  /** Opens the store on a SQLite database, applying the tenancy migrations. */
  static open(database: SqlDatabase): SqliteQuotaStore {
    database.migrate("tenancy", tenancyMigrations);
    return new SqliteQuotaStore(database);
  }

  readonly #database: SqlDatabase;

  private constructor(database: SqlDatabase) {
    this.#database = database;
  }

  async update<T>(
    scopes: readonly string[],
    apply: (usage: ReadonlyMap<string, ScopeUsage>) => T,
  ): Promise<T> {
    const select = this.#database.prepare<{ usage: string }>("SELECT usage FROM quota_usage WHERE scope = ?");
    const upsert = this.#database.prepare(
      "INSERT INTO quota_usage (scope, usage) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET usage = excluded.usage",
    );
    const remove = this.#database.prepare("DELETE FROM quota_usage WHERE scope = ?");
    // Synchronous from BEGIN to COMMIT: nothing else on this connection can run in between.
    this.#database.exec("BEGIN IMMEDIATE");
    try {
      const working = new Map<string, ScopeUsage>();
      for (const scope of scopes) {
        const row = select.get(scope);
        working.set(scope, row ? parseScopeUsage(row.usage) : createEmptyScopeUsage());
      }
      const result = apply(working);
      for (const [scope, usage] of working) {
        if (isIdle(usage)) remove.run(scope);
        else upsert.run(scope, JSON.stringify(usage));
      }
      this.#database.exec("COMMIT");
      return result;
    } catch (error) {
      this.#database.exec("ROLLBACK");
      throw error;
    }
  }
}

/** Usage that would read back as empty: dropping its row keeps the table to the scopes in use. */
function isIdle(usage: ScopeUsage): boolean {
  return (
    usage.reservedRequests === 0 &&
    usage.reservedTokens === 0 &&
    usage.minuteBuckets.length === 0 &&
    usage.dayTokens === 0
  );
}

function parseScopeUsage(json: string): ScopeUsage {
  return { ...createEmptyScopeUsage(), ...(JSON.parse(json) as Partial<ScopeUsage>) };
}
