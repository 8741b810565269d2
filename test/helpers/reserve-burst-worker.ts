// A worker thread that plays one server process in the SQLite quota store's cross-process test: it
// opens its own connection to the shared database file, waits at a barrier so that all workers start
// together, then reserves as often as asked and reports how many reservations were granted.
import { parentPort, workerData } from "node:worker_threads";
import { QuotaExceededError } from "../../src/scheduler/quota-exceeded-error.ts";
import { QuotaLedger } from "../../src/scheduler/quota-ledger.ts";
import { createTenantPath } from "../../src/scheduler/tenant-path.ts";
import { openSqliteDatabase } from "../../src/storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "../../src/tenancy/sqlite-quota-store.ts";

export interface ReserveBurstWorkerData {
  file: string;
  /** Int32Array over a SharedArrayBuffer: [workers ready, go]. */
  barrier: SharedArrayBuffer;
  attempts: number;
  tokens: number;
  tokensPerMinute: number;
}

const data = workerData as ReserveBurstWorkerData;
const database = openSqliteDatabase(data.file, { busyTimeoutMs: 30_000 });
const ledger = new QuotaLedger({
  store: SqliteQuotaStore.open(database),
  getLimits: () => ({ apiKey: { tokensPerMinute: data.tokensPerMinute } }),
});
const path = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k" });
const barrier = new Int32Array(data.barrier);
Atomics.add(barrier, 0, 1);
Atomics.wait(barrier, 1, 0);
let granted = 0;
for (let attempt = 0; attempt < data.attempts; attempt++) {
  try {
    await ledger.reserve(path, data.tokens);
    granted++;
  } catch (error) {
    if (!(error instanceof QuotaExceededError)) throw error;
  }
}
database.close();
parentPort?.postMessage(granted);
