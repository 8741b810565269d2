// The SQLite implementation of the storage interface, on better-sqlite3: WAL journaling (readers
// never block the writer), foreign keys enforced, a busy timeout so concurrent processes (`ostrom kb
// add` beside a running server) wait instead of failing, and a cache of prepared statements.
import { mkdirSync } from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { applyMigrations, type Migration, type SqlDatabase, type SqlStatement } from "../sql-database.ts";

export interface SqliteDatabaseOptions {
  /** Milliseconds to wait for a lock held by another connection. Default 5000. */
  busyTimeoutMs?: number;
  /** Open read-only. Default false. */
  readonly?: boolean;
}

/** Opens (creating it and its folder if needed) a SQLite database; `:memory:` for a transient one. */
export function openSqliteDatabase(location: string, options: SqliteDatabaseOptions = {}): SqlDatabase {
  if (location !== ":memory:" && !options.readonly) mkdirSync(path.dirname(location), { recursive: true });
  const database = new BetterSqlite3(location, {
    readonly: options.readonly ?? false,
    timeout: options.busyTimeoutMs ?? 5000,
  });
  try {
    if (location !== ":memory:" && !options.readonly) database.pragma("journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; only a power loss can drop the
    // last transactions, never corrupt the database.
    database.pragma("synchronous = NORMAL");
    database.pragma("foreign_keys = ON");
  } catch (error) {
    database.close();
    throw error;
  }
  return new SqliteDatabase(location, database);
}

class SqliteDatabase implements SqlDatabase {
  private readonly statements = new Map<string, SqlStatement<unknown>>();

  constructor(
    readonly location: string,
    private readonly database: BetterSqlite3.Database,
  ) {}

  exec(sql: string): void {
    this.database.exec(sql);
  }

  prepare<Row>(sql: string): SqlStatement<Row> {
    let statement = this.statements.get(sql);
    if (!statement) {
      const prepared = this.database.prepare(sql);
      const reader = prepared.reader;
      statement = {
        run: (...parameters) => {
          const result = prepared.run(...parameters);
          return { changes: result.changes, lastInsertRowid: Number(result.lastInsertRowid) };
        },
        get: (...parameters) => (reader ? prepared.get(...parameters) : undefined),
        all: (...parameters) => (reader ? prepared.all(...parameters) : []),
        iterate: (...parameters) => prepared.iterate(...parameters),
      };
      this.statements.set(sql, statement);
    }
    return statement as SqlStatement<Row>;
  }

  transaction<T>(work: () => T): T {
    return this.database.transaction(work)();
  }

  migrate(namespace: string, migrations: readonly Migration[]): number[] {
    return applyMigrations(this, namespace, migrations);
  }

  close(): void {
    this.statements.clear();
    if (this.database.open) this.database.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
