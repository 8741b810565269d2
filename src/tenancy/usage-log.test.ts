import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
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

test("usage log: summaries per bucket and group, with rejections, latency mean and p95", async () => {
  using database = openSqliteDatabase(":memory:");
  const log = UsageLog.open(database);
  const first = createRecord({});
  assert.equal(await log.record(first), true);
  assert.equal(await log.record({ ...first, promptTokens: 999 }), false, "a request is recorded once");
  for (let index = 1; index <= 19; index++)
    await log.record(
      createRecord({
        at: `2025-03-01T10:${String(index).padStart(2, "0")}:00.000Z`,
        durationMs: 100 + index,
      }),
    );
  await log.record(
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
  await log.record(
    createRecord({
      at: "2025-03-01T11:30:00.000Z",
      apiKeyId: "key_00000002",
      keyName: "ranger",
      teamId: "woods",
      model: "other",
    }),
  );
  await log.record(
    createRecord({
      at: "2025-03-01T11:45:00.000Z",
      outcome: "error",
      errorCode: "engine_crashed",
      timeToFirstTokenMs: null,
      durationMs: 50,
    }),
  );
  await log.record(createRecord({ at: "2025-03-01T12:00:00.000Z" }));

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

test("usage log: records of one turn share one transaction, and each resolves only once committed", async () => {
  await withDatabaseFile(async (file) => {
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
    const log = UsageLog.open(counting);
    // A second connection sees only what is committed.
    using reader = openSqliteDatabase(file);
    const isCommitted = (requestId: string) =>
      reader.prepare("SELECT 1 FROM usage_log WHERE request_id = ?").get(requestId) !== undefined;

    const records = [1, 2, 3, 4, 5].map((n) => createRecord({ requestId: `turn-${n}` }));
    const seenAtResolution: boolean[] = [];
    const written = records.map((record) =>
      log.record(record).then((inserted) => {
        seenAtResolution.push(isCommitted(record.requestId));
        return inserted;
      }),
    );
    assert.equal(isCommitted("turn-1"), false, "nothing is written before the turn ends");
    assert.deepEqual(await Promise.all(written), [true, true, true, true, true]);
    assert.deepEqual(seenAtResolution, [true, true, true, true, true], "committed before resolving");
    assert.equal(transactions, 1, "five records of one turn, one transaction");

    // A later turn is a new transaction; a repeated id inside a batch is kept once.
    const again = createRecord({ requestId: "turn-6" });
    assert.deepEqual(await Promise.all([log.record(again), log.record({ ...again, durationMs: 1 })]), [
      true,
      false,
    ]);
    assert.equal(transactions, 2);
  });
});

test("usage log: a failing record costs only its caller; a failed database reaches every caller", async () => {
  using database = openSqliteDatabase(":memory:");
  const log = UsageLog.open(database);
  const good = [createRecord({}), createRecord({})];
  // model is NOT NULL: this record fails inside the batch and rolls it back.
  const bad = createRecord({ model: null as unknown as string });
  const results = await Promise.allSettled([log.record(good[0]!), log.record(bad), log.record(good[1]!)]);
  assert.deepEqual(
    results.map((result) => result.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /NOT NULL/);
  const rows = database.prepare<{ request_id: string }>("SELECT request_id FROM usage_log ORDER BY id").all();
  assert.deepEqual(
    rows.map((row) => row.request_id),
    good.map((record) => record.requestId),
    "the others' records were written",
  );
  await assert.rejects(log.record(createRecord({ at: "yesterday" })), RangeError);

  // The database goes away before the turn ends: every waiting caller gets the error.
  const waiting = [log.record(createRecord({})), log.record(createRecord({})), log.record(createRecord({}))];
  database.close();
  const failed = await Promise.allSettled(waiting);
  assert.deepEqual(
    failed.map((result) => result.status),
    ["rejected", "rejected", "rejected"],
  );
  for (const result of failed) assert.match(String((result as PromiseRejectedResult).reason), /not open/);
});

test("usage log: records whose promises resolved survive the process being killed right after", async () => {
  await withDatabaseFile(async (file) => {
    const records = [1, 2, 3].map((n) => createRecord({ requestId: `killed-after-${n}`, promptTokens: n }));
    const script = `
      import { openSqliteDatabase } from ${JSON.stringify(new URL("../storage/sqlite/open-sqlite-database.ts", import.meta.url).href)};
      import { UsageLog } from ${JSON.stringify(new URL("./usage-log.ts", import.meta.url).href)};
      const log = UsageLog.open(openSqliteDatabase(${JSON.stringify(file)}));
      await Promise.all(${JSON.stringify(records)}.map((record) => log.record(record)));
      process.kill(process.pid, "SIGKILL");
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    assert.equal(child.signal, "SIGKILL", child.stderr);
    using database = openSqliteDatabase(file);
    const rows = UsageLog.open(database).summarize({
      since: new Date("2025-03-01T00:00:00Z"),
      until: new Date("2025-03-02T00:00:00Z"),
      bucket: "day",
      groupBy: "key",
    });
    assert.deepEqual(
      rows.map((row) => [row.group, row.requests, row.promptTokens]),
      [["key_00000001", 3, 6]],
    );
  });
});

async function withDatabaseFile(work: (file: string) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-usage-"));
  try {
    await work(path.join(folder, "ostrom.db"));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
