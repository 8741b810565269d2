// Opens what sharing a server needs from the database `ostrom.db` in the data directory (the one the
// CLI's `tenant`, `key` and `usage` commands use): the tenant directory (authentication, weights,
// limits), the quota ledger over the SQLite quota store, and the usage log. One connection serves all.
import path from "node:path";
import type { Config } from "../config/config-schema.ts";
import { QuotaLedger } from "../scheduler/quota-ledger.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "../tenancy/sqlite-quota-store.ts";
import { TenantDirectory } from "../tenancy/tenant-directory.ts";
import { UsageLog } from "../tenancy/usage-log.ts";

export interface Tenancy extends Disposable {
  directory: TenantDirectory;
  ledger: QuotaLedger;
  usageLog: UsageLog;
}

export function openTenancy(config: Pick<Config, "dataDir">): Tenancy {
  const database = openSqliteDatabase(path.join(config.dataDir, "ostrom.db"));
  try {
    const directory = TenantDirectory.open(database);
    const usageLog = UsageLog.open(database);
    const ledger = new QuotaLedger({
      store: SqliteQuotaStore.open(database),
      getLimits: (tenantPath) => directory.getLimits(tenantPath),
    });
    return { directory, ledger, usageLog, [Symbol.dispose]: () => database.close() };
  } catch (error) {
    database.close();
    throw error;
  }
}
