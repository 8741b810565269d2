import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runSqlDatabaseContract } from "../sql-database-contract.ts";
import { openSqliteDatabase } from "./open-sqlite-database.ts";

runSqlDatabaseContract("sqlite (memory)", () => openSqliteDatabase(":memory:"));

test("a SQLite file database uses WAL and keeps data across reopening", async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), "ostrom-sqlite-"));
  try {
    const file = path.join(folder, "nested", "ostrom.db");
    const first = openSqliteDatabase(file);
    assert.equal(first.prepare<{ journal_mode: string }>("PRAGMA journal_mode").get()?.journal_mode, "wal");
    first.migrate("demo", [
      { version: 1, name: "create", up: "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept')" },
    ]);
    first.close();
    using second = openSqliteDatabase(file);
    assert.deepEqual(second.migrate("demo", [{ version: 1, name: "create", up: "SELECT 1" }]), []);
    assert.equal(second.prepare<{ v: string }>("SELECT v FROM t").get()?.v, "kept");
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
