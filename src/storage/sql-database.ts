// The storage interface every subsystem that keeps state (knowledge bases now; tenants and usage
// later) is written against: synchronous SQL statements, transactions and per-subsystem numbered
// migrations. One implementation per engine lives in its own folder (`sqlite/`), and all of them pass
// the contract suite in `sql-database-contract.ts`. Depends on nothing else in the project.

export type SqlValue = string | number | bigint | Uint8Array | null;
export type SqlParameters = readonly SqlValue[];

export interface SqlRunResult {
  changes: number;
  lastInsertRowid: number;
}

/** A prepared statement; parameters are positional (`?`). */
export interface SqlStatement<Row> {
  run(...parameters: SqlParameters): SqlRunResult;
  get(...parameters: SqlParameters): Row | undefined;
  all(...parameters: SqlParameters): Row[];
  iterate(...parameters: SqlParameters): IterableIterator<Row>;
}

export interface Migration {
  /** 1, 2, 3… within its namespace; applied in order, each exactly once. */
  version: number;
  /** A short description, recorded with the version; renaming an applied migration is an error. */
  name: string;
  /** SQL to execute, or a function for migrations that need logic. Runs inside a transaction. */
  up: string | ((database: SqlDatabase) => void);
}

export interface SqlDatabase extends Disposable {
  /** Where the database lives (`:memory:` for a transient one). */
  readonly location: string;
  /** Runs one or more statements without parameters (DDL). */
  exec(sql: string): void;
  /** Prepares (and caches) a statement. */
  prepare<Row = Record<string, SqlValue>>(sql: string): SqlStatement<Row>;
  /** Runs `work` in a transaction, committed when it returns and rolled back when it throws; nests. */
  transaction<T>(work: () => T): T;
  /** Applies the migrations of `namespace` not applied yet; returns the versions applied now. */
  migrate(namespace: string, migrations: readonly Migration[]): number[];
  close(): void;
}

/** Thrown when the database holds migrations this code does not know: it was written by a newer Ostrom. */
export class MigrationError extends Error {}

/** The shared migration bookkeeping, for implementations to call from `migrate`. */
export function applyMigrations(
  database: SqlDatabase,
  namespace: string,
  migrations: readonly Migration[],
): number[] {
  database.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       namespace TEXT NOT NULL,
       version INTEGER NOT NULL,
       name TEXT NOT NULL,
       applied_at TEXT NOT NULL,
       PRIMARY KEY (namespace, version)
     )`,
  );
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((migration, index) => {
    if (migration.version !== index + 1)
      throw new MigrationError(
        `${namespace} migrations must be numbered 1, 2, 3…; found ${migration.version}`,
      );
  });
  const applied = database
    .prepare<{ version: number; name: string }>(
      "SELECT version, name FROM schema_migrations WHERE namespace = ? ORDER BY version",
    )
    .all(namespace);
  for (const record of applied) {
    const known = sorted[record.version - 1];
    if (!known)
      throw new MigrationError(
        `the database has ${namespace} migration ${record.version} (${record.name}), unknown to this version of Ostrom`,
      );
    if (known.name !== record.name)
      throw new MigrationError(
        `${namespace} migration ${record.version} is "${record.name}" in the database but "${known.name}" in the code`,
      );
  }
  const newlyApplied: number[] = [];
  for (const migration of sorted.slice(applied.length)) {
    database.transaction(() => {
      if (typeof migration.up === "string") database.exec(migration.up);
      else migration.up(database);
      database
        .prepare("INSERT INTO schema_migrations (namespace, version, name, applied_at) VALUES (?, ?, ?, ?)")
        .run(namespace, migration.version, migration.name, new Date().toISOString());
    });
    newlyApplied.push(migration.version);
  }
  return newlyApplied;
}
