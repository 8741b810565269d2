// A child process that plays one server process in the SQLite quota store's cross-process test: it
// opens its own connection to the shared database file, says "ready", waits for "go" so that all
// processes start together, then reserves as often as asked and reports how many were granted.
// Started with `fork` and `--import tsx`; talks to its parent over IPC only.
import { QuotaExceededError } from "../../src/scheduler/quota-exceeded-error.ts";
import { QuotaLedger } from "../../src/scheduler/quota-ledger.ts";
import { createTenantPath } from "../../src/scheduler/tenant-path.ts";
import { openSqliteDatabase } from "../../src/storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "../../src/tenancy/sqlite-quota-store.ts";

export interface ReserveBurstOptions {
  file: string;
  attempts: number;
  tokens: number;
  tokensPerMinute: number;
}

export type ReserveBurstMessage = { type: "ready" } | { type: "done"; granted: number };

const options = JSON.parse(process.argv[2] ?? "{}") as ReserveBurstOptions;
const database = openSqliteDatabase(options.file, { busyTimeoutMs: 30_000 });
const ledger = new QuotaLedger({
  store: SqliteQuotaStore.open(database),
  getLimits: () => ({ apiKey: { tokensPerMinute: options.tokensPerMinute } }),
});
const path = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k" });
const send = (message: ReserveBurstMessage) => process.send?.(message);

process.once("message", async () => {
  let granted = 0;
  for (let attempt = 0; attempt < options.attempts; attempt++) {
    try {
      await ledger.reserve(path, options.tokens);
      granted++;
    } catch (error) {
      if (!(error instanceof QuotaExceededError)) throw error;
    }
  }
  database.close();
  send({ type: "done", granted });
  process.disconnect();
});
send({ type: "ready" });
