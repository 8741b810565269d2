// Opens what sharing a server needs from the database `ostrom.db` in the data directory (the one the
// CLI's `tenant`, `key` and `usage` commands use): the tenant directory (authentication, weights,
// limits), the quota ledger over the SQLite quota store, and the usage log with its journals in
// `usage-journal` beside the database. One connection serves all.
import path from "node:path";
import type { Config } from "../config/config-schema.ts";
import { QuotaLedger } from "../scheduler/quota-ledger.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "../tenancy/sqlite-quota-store.ts";
import { TenantDirectory } from "../tenancy/tenant-directory.ts";
import { UsageLog } from "../tenancy/usage-log.ts";
import { type Logger, silentLogger } from "../util/logger.ts";

export interface Tenancy extends Disposable {
  directory: TenantDirectory;
  ledger: QuotaLedger;
  usageLog: UsageLog;
}

export function openTenancy(config: Pick<Config, "dataDir">, log: Logger = silentLogger): Tenancy {
  const database = openSqliteDatabase(path.join(config.dataDir, "ostrom.db"));
  try {
    const directory = TenantDirectory.open(database);
    const usageLog = UsageLog.open(database, {
      journalDirectory: getUsageJournalDirectory(config),
      onFlushError: (error) =>
        log.warn(`usage records wait in the journal: the database could not take them (${error})`),
    });
    const { recovered } = usageLog;
    if (recovered.files > 0)
      log.info(
        `moved ${recovered.records} usage record(s) from ${recovered.files} stopped server journal(s) into the database` +
          (recovered.skipped > 0 ? `; ${recovered.skipped} cut-off or damaged line(s) skipped` : ""),
      );
    const ledger = new QuotaLedger({
      store: SqliteQuotaStore.open(database),
      getLimits: (tenantPath) => directory.getLimits(tenantPath),
    });
    const close = () => {
      try {
        usageLog.close();
      } finally {
        database.close();
      }
    };
    return { directory, ledger, usageLog, [Symbol.dispose]: close };
  } catch (error) {
    database.close();
    throw error;
  }
}

/** Where the usage log's journals live: beside the database, which the CLI's `usage` reads too. */
export function getUsageJournalDirectory(config: Pick<Config, "dataDir">): string {
  return path.join(config.dataDir, "usage-journal");
}
