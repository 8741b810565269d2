import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type TestContext, test } from "node:test";
import { isOstromError } from "../errors.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { UsageLog, type UsageRecord } from "./usage-log.ts";

let nextId = 0;
function createRecord(overrides: Partial<UsageRecord>): UsageRecord {
  return {
    requestId: `req-${nextId++}`,
    at: "2025-03-01T10:00:00.000Z",
    organizationId: "city",
    teamId: "parks",
    apiKeyId: "key_00000001",
    keyName: "gardener",
    model: "tiny:latest",
    backend: "local",
    endpoint: "chat",
    promptTokens: 10,
    completionTokens: 5,
    queueWaitMs: 1,
    timeToFirstTokenMs: 20,
    durationMs: 100,
    outcome: "ok",
    errorCode: null,
    ...overrides,
  };
}

test("usage log: summaries per bucket and group, with rejections, latency mean and p95", async (t) => {
  const folder = await createFolder(t);
  using database = openSqliteDatabase(":memory:");
  const log = UsageLog.open(database, { journalDirectory: folder });
  t.after(() => log.close());
  const first = createRecord({});
  log.record(first);
  log.record({ ...first, promptTokens: 999 }); // a request is recorded once: its first record counts
  for (let index = 1; index <= 19; index++)
    log.record(
      createRecord({
        at: `2025-03-01T10:${String(index).padStart(2, "0")}:00.000Z`,
        durationMs: 100 + index,
      }),
    );
  log.record(
    createRecord({
      at: "2025-03-01T10:59:59.999Z",
      outcome: "rejected",
      errorCode: "quota_exceeded",
      promptTokens: 0,
      completionTokens: 0,
      timeToFirstTokenMs: null,
      durationMs: 0,
    }),
  );
  log.record(
    createRecord({
      at: "2025-03-01T11:30:00.000Z",
      apiKeyId: "key_00000002",
      keyName: "ranger",
      teamId: "woods",
      model: "other",
    }),
  );
  log.record(
    createRecord({
      at: "2025-03-01T11:45:00.000Z",
      outcome: "error",
      errorCode: "engine_crashed",
      timeToFirstTokenMs: null,
      durationMs: 50,
    }),
  );
  log.record(createRecord({ at: "2025-03-01T12:00:00.000Z" }));

  const since = new Date("2025-03-01T10:00:00Z");
  const until = new Date("2025-03-01T12:00:00Z");
  const byKey = log.summarize({ since, until, bucket: "hour", groupBy: "key" });
  assert.deepEqual(
    byKey.map((row) => [row.bucketStart, row.group, row.label, row.requests, row.rejected, row.failed]),
    [
      ["2025-03-01T10:00:00.000Z", "key_00000001", "gardener", 21, 1, 0],
      ["2025-03-01T11:00:00.000Z", "key_00000001", "gardener", 1, 0, 1],
      ["2025-03-01T11:00:00.000Z", "key_00000002", "ranger", 1, 0, 0],
    ],
    "until is exclusive; the rejected request counts but has no latency",
  );
  const tenOClock = byKey[0]!;
  assert.equal(tenOClock.promptTokens, 200);
  assert.equal(tenOClock.completionTokens, 100);
  assert.equal(tenOClock.meanLatencyMs, 109.5, "mean of 100 and 100..119 without the rejection");
  assert.equal(tenOClock.p95LatencyMs, 118, "nearest rank: the 19th of 20");
  assert.equal(tenOClock.meanTimeToFirstTokenMs, 20);
  assert.equal(byKey[1]!.meanTimeToFirstTokenMs, null);

  assert.deepEqual(
    log.summarize({ since, until, bucket: "day", groupBy: "team" }).map((row) => [row.group, row.requests]),
    [
      ["city/parks", 22],
      ["city/woods", 1],
    ],
  );
  assert.deepEqual(
    log.summarize({ since, until, bucket: "day", groupBy: "model" }).map((row) => [row.group, row.requests]),
    [
      ["other", 1],
      ["tiny:latest", 22],
    ],
  );
  assert.deepEqual(
    log
      .summarize({ since, until, bucket: "day", groupBy: "organization", apiKeyId: "key_00000002" })
      .map((row) => [row.group, row.requests]),
    [["city", 1]],
  );
  assert.equal(log.summarize({ since, until, bucket: "minute", groupBy: "key" }).length, 23);

  const isParamError = (param: string) => (error: unknown) =>
    isOstromError(error, "invalid_parameter") && error.param === param;
  assert.throws(
    () => log.summarize({ since: until, until: since, bucket: "hour", groupBy: "key" }),
    isParamError("since"),
  );
  assert.throws(
    () => log.summarize({ since: new Date("2000-01-01"), until, bucket: "minute", groupBy: "key" }),
    isParamError("bucket"),
  );
  assert.throws(
    () => log.summarize({ since: new Date("nope"), until, bucket: "hour", groupBy: "key" }),
    isParamError("since"),
  );
});

test("usage log: a record is in the journal when recorded, and in the database with the others of its interval", async (t) => {
  const folder = await createFolder(t);
  const file = path.join(folder, "ostrom.db");
  using database = openSqliteDatabase(file);
  let transactions = 0;
  const counting: SqlDatabase = {
    location: database.location,
    exec: (sql) => database.exec(sql),
    prepare: <Row>(sql: string) => database.prepare<Row>(sql),
    transaction<T>(work: () => T): T {
      transactions += 1;
      return database.transaction(work);
    },
    migrate: (namespace, migrations) => database.migrate(namespace, migrations),
    close: () => database.close(),
    [Symbol.dispose]: () => database.close(),
  };
  const journals = path.join(folder, "usage-journal");
  const log = UsageLog.open(counting, { journalDirectory: journals, flushIntervalMs: 50 });
  t.after(() => log.close());
  transactions = 0;
  // A second connection sees only what is committed.
  using reader = openSqliteDatabase(file);
  const countCommitted = () =>
    reader.prepare<{ n: number }>("SELECT count(*) AS n FROM usage_log WHERE request_id LIKE 'turn-%'").get()!
      .n;

  const records = [1, 2, 3, 4, 5].map((n) => createRecord({ requestId: `turn-${n}` }));
  for (const record of records) log.record(record);
  log.record({ ...records[0]!, durationMs: 1 });
  assert.equal(countCommitted(), 0, "not in the database yet");
  const journal = await readJournalLines(journals);
  assert.deepEqual(
    journal.map((entry) => entry.requestId),
    ["turn-1", "turn-2", "turn-3", "turn-4", "turn-5", "turn-1"],
    "each record is in the journal as soon as it is recorded",
  );
  while (countCommitted() === 0) await sleep(10);
  assert.equal(countCommitted(), 5, "all of them together, the repeated id once");
  assert.equal(transactions, 1, "six records of one interval, one transaction");
  assert.deepEqual(await readJournalLines(journals), [], "the journal is emptied once they are in");

  // A summary does not wait for the interval: it moves what waits first.
  log.record(createRecord({ requestId: "turn-7", at: "2025-03-01T11:00:00.000Z" }));
  const rows = log.summarize({
    since: new Date("2025-03-01T11:00:00Z"),
    until: new Date("2025-03-01T12:00:00Z"),
    bucket: "hour",
    groupBy: "key",
  });
  assert.deepEqual(
    rows.map((row) => row.requests),
    [1],
  );
  log.close();
  assert.deepEqual(await readdir(journals), [], "closing removes the empty journal");
  assert.throws(() => log.record(createRecord({})), /records nothing/);
});

test("usage log: a record that is none is refused; one the database cannot take waits in the journal", async (t) => {
  const folder = await createFolder(t);
  const file = path.join(folder, "ostrom.db");
  const journals = path.join(folder, "usage-journal");
  const database = openSqliteDatabase(file);
  const flushErrors: unknown[] = [];
  const log = UsageLog.open(database, {
    journalDirectory: journals,
    flushIntervalMs: 10,
    onFlushError: (error) => flushErrors.push(error),
    maxPendingRecords: 3,
  });
  assert.throws(() => log.record(createRecord({ at: "yesterday" })), RangeError);
  assert.throws(
    () => log.record(createRecord({ model: null as unknown as string })),
    /model is not a string/,
  );
  assert.throws(() => log.record(createRecord({ promptTokens: -1 })), /promptTokens/);
  assert.throws(() => log.record(createRecord({ outcome: "fine" as "ok" })), /outcome/);
  assert.throws(() => UsageLog.open(database).record(createRecord({})), /without a journal/);
  assert.deepEqual(await readJournalLines(journals), [], "nothing refused reached the journal");

  // The database goes away: records are still kept (in the journal), and retried.
  database.close();
  const kept = [1, 2, 3].map((n) => createRecord({ requestId: `kept-${n}`, promptTokens: n }));
  for (const record of kept) log.record(record);
  while (flushErrors.length === 0) await sleep(10);
  assert.match(String(flushErrors[0]), /not open/);
  await sleep(50);
  assert.equal(flushErrors.length, 1, "a failing database is reported once, not at every retry");
  // Past the bound, recording fails rather than growing without end; the journal keeps what it had.
  assert.throws(() => log.record(createRecord({})), /3 usage records are waiting/);
  assert.throws(() => log.close(), /not open/);
  assert.equal((await readJournalLines(journals)).length, 3);

  // The next process to open the log moves them in (here the same process, so its file stays).
  using reopened = openSqliteDatabase(file);
  const next = UsageLog.open(reopened, { journalDirectory: journals });
  assert.deepEqual(next.recovered, { files: 1, records: 3, skipped: 0 });
  assert.deepEqual(
    summarizeDay(next).map((row) => [row.requests, row.promptTokens]),
    [[3, 6]],
  );
});

test("usage log: records survive the process being killed right after; the next one moves them in", async (t) => {
  const folder = await createFolder(t);
  const file = path.join(folder, "ostrom.db");
  const journals = path.join(folder, "usage-journal");
  const records = [1, 2, 3].map((n) => createRecord({ requestId: `killed-after-${n}`, promptTokens: n }));
  const script = `
    import { openSqliteDatabase } from ${JSON.stringify(new URL("../storage/sqlite/open-sqlite-database.ts", import.meta.url).href)};
    import { UsageLog } from ${JSON.stringify(new URL("./usage-log.ts", import.meta.url).href)};
    const log = UsageLog.open(openSqliteDatabase(${JSON.stringify(file)}), { journalDirectory: ${JSON.stringify(journals)} });
    for (const record of ${JSON.stringify(records)}) log.record(record);
    process.kill(process.pid, "SIGKILL");
  `;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const [left] = await readdir(journals);
  assert.ok(left, "the killed process left its journal");
  // A kill in the middle of a write leaves a cut-off line: it is skipped, the rest is kept.
  await appendFile(path.join(journals, left), '{"requestId":"cut-off","at":"2025-03');

  using database = openSqliteDatabase(file);
  const log = UsageLog.open(database, { journalDirectory: journals });
  t.after(() => log.close());
  assert.deepEqual(log.recovered, { files: 1, records: 3, skipped: 1 });
  assert.deepEqual(await readdir(journals), [], "a dead process's journal is removed once moved in");
  assert.deepEqual(
    summarizeDay(log).map((row) => [row.group, row.requests, row.promptTokens]),
    [["key_00000001", 3, 6]],
  );
});

function summarizeDay(log: UsageLog) {
  return log.summarize({
    since: new Date("2025-03-01T00:00:00Z"),
    until: new Date("2025-03-02T00:00:00Z"),
    bucket: "day",
    groupBy: "key",
  });
}

async function readJournalLines(folder: string): Promise<UsageRecord[]> {
  const lines: UsageRecord[] = [];
  for (const name of await readdir(folder).catch(() => [])) {
    const text = await readFile(path.join(folder, name), "utf8");
    for (const line of text.split("\n")) if (line) lines.push(JSON.parse(line) as UsageRecord);
  }
  return lines;
}

async function createFolder(t: TestContext): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-usage-"));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
