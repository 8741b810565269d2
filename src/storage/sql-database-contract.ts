// The contract every SqlDatabase implementation must pass: statements, transactions (commit,
// rollback, nesting), foreign keys, and migrations applied once and in order. Each implementation's
// test file runs it against a real database.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Migration, MigrationError, type SqlDatabase } from "./sql-database.ts";

export function runSqlDatabaseContract(name: string, openDatabase: () => SqlDatabase): void {
  const withDatabase = (work: (database: SqlDatabase) => void) => () => {
    const database = openDatabase();
    try {
      work(database);
    } finally {
      database.close();
    }
  };

  test(
    `${name}: runs statements with positional parameters`,
    withDatabase((database) => {
      database.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, data BLOB)");
      const inserted = database
        .prepare("INSERT INTO t (label, data) VALUES (?, ?)")
        .run("a", new Uint8Array([1, 2]));
      assert.equal(inserted.changes, 1);
      assert.equal(inserted.lastInsertRowid, 1);
      const row = database
        .prepare<{ label: string; data: Uint8Array }>("SELECT label, data FROM t WHERE id = ?")
        .get(1);
      assert.equal(row?.label, "a");
      assert.deepEqual(Array.from(row?.data ?? []), [1, 2]);
      assert.equal(database.prepare("SELECT * FROM t WHERE id = ?").get(99), undefined);
      assert.equal(Array.from(database.prepare("SELECT * FROM t").iterate()).length, 1);
    }),
  );

  test(
    `${name}: commits transactions, rolls back on throw, and nests`,
    withDatabase((database) => {
      database.exec("CREATE TABLE t (value INTEGER)");
      const insert = database.prepare("INSERT INTO t VALUES (?)");
      const count = () => database.prepare<{ n: number }>("SELECT count(*) AS n FROM t").get()?.n;
      database.transaction(() => insert.run(1));
      assert.throws(() =>
        database.transaction(() => {
          insert.run(2);
          throw new Error("abort");
        }),
      );
      assert.equal(count(), 1);
      database.transaction(() => {
        insert.run(3);
        assert.throws(() =>
          database.transaction(() => {
            insert.run(4);
            throw new Error("inner");
          }),
        );
      });
      assert.equal(count(), 2);
    }),
  );

  test(
    `${name}: enforces foreign keys`,
    withDatabase((database) => {
      database.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE)",
      );
      assert.throws(() => database.prepare("INSERT INTO child VALUES (?)").run(7));
      database.prepare("INSERT INTO parent VALUES (?)").run(1);
      database.prepare("INSERT INTO child VALUES (?)").run(1);
      database.prepare("DELETE FROM parent").run();
      assert.equal(database.prepare<{ n: number }>("SELECT count(*) AS n FROM child").get()?.n, 0);
    }),
  );

  test(
    `${name}: applies each namespace's migrations once, in order, and refuses unknown or renamed ones`,
    withDatabase((database) => {
      const migrations: Migration[] = [
        { version: 1, name: "create", up: "CREATE TABLE m (value TEXT)" },
        {
          version: 2,
          name: "seed",
          up: (db) => {
            db.prepare("INSERT INTO m VALUES (?)").run("seeded");
          },
        },
      ];
      assert.deepEqual(database.migrate("demo", migrations), [1, 2]);
      assert.deepEqual(database.migrate("demo", migrations), []);
      assert.deepEqual(database.migrate("other", [{ version: 1, name: "x", up: "CREATE TABLE o (v)" }]), [1]);
      assert.equal(database.prepare<{ n: number }>("SELECT count(*) AS n FROM m").get()?.n, 1);
      assert.throws(() => database.migrate("demo", migrations.slice(0, 1)), MigrationError);
      assert.throws(
        () => database.migrate("demo", [{ ...migrations[0]!, name: "renamed" }, migrations[1]!]),
        MigrationError,
      );
      assert.throws(
        () => database.migrate("gap", [{ version: 2, name: "two", up: "SELECT 1" }]),
        MigrationError,
      );
      // A failing migration leaves nothing behind.
      assert.throws(() =>
        database.migrate("broken", [
          { version: 1, name: "bad", up: "CREATE TABLE b (v); SELECT * FROM missing" },
        ]),
      );
      assert.equal(database.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get(), undefined);
    }),
  );
}
