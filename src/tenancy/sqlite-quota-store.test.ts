import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ReserveBurstMessage, ReserveBurstOptions } from "../../test/helpers/reserve-burst-process.ts";
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

test("SqliteQuotaStore: three processes with their own connections reserving at once never overshoot", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-quota-"));
  try {
    const file = path.join(folder, "ostrom.db");
    {
      using database = openSqliteDatabase(file);
      SqliteQuotaStore.open(database);
    }
    const options: ReserveBurstOptions = { file, attempts: 150, tokens: 10, tokensPerMinute: 1000 };
    const script = fileURLToPath(new URL("../../test/helpers/reserve-burst-process.ts", import.meta.url));
    const children = [0, 1, 2].map(() =>
      fork(script, [JSON.stringify(options)], { execArgv: ["--import", "tsx"], stdio: "inherit" }),
    );
    const waitFor = (child: ChildProcess, type: ReserveBurstMessage["type"]) =>
      new Promise<ReserveBurstMessage>((resolve, reject) => {
        const onMessage = (message: ReserveBurstMessage) => {
          if (message.type !== type) return;
          child.off("message", onMessage);
          resolve(message);
        };
        child.on("message", onMessage);
        child.once("exit", (code) => reject(new Error(`a reserving process exited with ${code}`)));
      });
    const done = children.map((child) => waitFor(child, "done"));
    await Promise.all(children.map((child) => waitFor(child, "ready")));
    for (const child of children) child.send("go");
    const granted = (await Promise.all(done)).map((message) =>
      message.type === "done" ? message.granted : 0,
    );
    assert.equal(
      granted.reduce((sum, count) => sum + count, 0),
      100,
      `exactly 1000 / 10 reservations in total (per process: ${granted.join(", ")})`,
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
