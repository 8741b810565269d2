import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import type { ReserveBurstWorkerData } from "../../test/helpers/reserve-burst-worker.ts";
import { QuotaLedger } from "../scheduler/quota-ledger.ts";
import { runQuotaStoreContract } from "../scheduler/quota-store-contract.ts";
import { createTenantPath } from "../scheduler/tenant-path.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "./sqlite-quota-store.ts";

runQuotaStoreContract("SqliteQuotaStore (two connections to one file)", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-quota-"));
  const file = path.join(folder, "ostrom.db");
  const databases = [openSqliteDatabase(file), openSqliteDatabase(file)] as const;
  const stores = [SqliteQuotaStore.open(databases[0]), SqliteQuotaStore.open(databases[1])] as const;
  return {
    stores,
    async close() {
      for (const database of databases) database.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
});

test("SqliteQuotaStore: usage survives reopening, and idle scopes leave no row", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-quota-"));
  try {
    const file = path.join(folder, "ostrom.db");
    const keyPath = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k" });
    const limits = { apiKey: { tokensPerDay: 100 } };
    {
      using database = openSqliteDatabase(file);
      const ledger = new QuotaLedger({ store: SqliteQuotaStore.open(database), getLimits: () => limits });
      await ledger.settle(await ledger.reserve(keyPath, 80), 60);
      const cancelled = await ledger.reserve(
        createTenantPath({ organizationId: "x", teamId: "y", apiKeyId: "z" }),
        5,
      );
      await ledger.cancel(cancelled);
      const scopes = database
        .prepare<{ scope: string }>("SELECT scope FROM quota_usage ORDER BY scope")
        .all();
      assert.equal(scopes.length, 3, "only the settled path's three scopes are kept");
    }
    using database = openSqliteDatabase(file);
    const ledger = new QuotaLedger({ store: SqliteQuotaStore.open(database), getLimits: () => limits });
    assert.equal((await ledger.getUsage(keyPath)).apiKey.tokensToday, 60);
    await assert.rejects(ledger.reserve(keyPath, 41), /per day/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("SqliteQuotaStore: two threads with their own connections reserving in parallel never overshoot", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-quota-"));
  try {
    const file = path.join(folder, "ostrom.db");
    openSqliteDatabase(file).migrate("tenancy", (await import("./tenancy-migrations.ts")).tenancyMigrations);
    const barrier = new SharedArrayBuffer(8);
    const workerData: ReserveBurstWorkerData = {
      file,
      barrier,
      attempts: 150,
      tokens: 10,
      tokensPerMinute: 1000,
    };
    const workerUrl = new URL("../../test/helpers/reserve-burst-worker.ts", import.meta.url);
    const workers = [0, 1, 2].map(() => new Worker(workerUrl, { workerData }));
    const results = workers.map(
      (worker) =>
        new Promise<number>((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    );
    const counters = new Int32Array(barrier);
    while (Atomics.load(counters, 0) < workers.length) await new Promise((resolve) => setTimeout(resolve, 5));
    Atomics.store(counters, 1, 1);
    Atomics.notify(counters, 1);
    const granted = await Promise.all(results);
    assert.equal(
      granted.reduce((sum, count) => sum + count, 0),
      100,
      `exactly 1000 / 10 reservations in total (per thread: ${granted.join(", ")})`,
    );
    using database = openSqliteDatabase(file);
    const ledger = new QuotaLedger({ store: SqliteQuotaStore.open(database), getLimits: () => ({}) });
    const usage = await ledger.getUsage(
      createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k" }),
    );
    assert.equal(usage.apiKey.reservedTokens, 1000);
    assert.equal(usage.apiKey.concurrentRequests, 100);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
