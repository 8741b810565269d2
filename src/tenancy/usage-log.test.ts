import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
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

test("usage log: summaries per bucket and group, with rejections, latency mean and p95", () => {
  using database = openSqliteDatabase(":memory:");
  const log = UsageLog.open(database);
  const first = createRecord({});
  assert.equal(log.record(first), true);
  assert.equal(log.record({ ...first, promptTokens: 999 }), false, "a request is recorded once");
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

test("usage log: a record survives the process being killed right after recording it", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-usage-"));
  try {
    const file = path.join(folder, "ostrom.db");
    const record = createRecord({ requestId: "killed-after" });
    const script = `
      import { openSqliteDatabase } from ${JSON.stringify(new URL("../storage/sqlite/open-sqlite-database.ts", import.meta.url).href)};
      import { UsageLog } from ${JSON.stringify(new URL("./usage-log.ts", import.meta.url).href)};
      const log = UsageLog.open(openSqliteDatabase(${JSON.stringify(file)}));
      log.record(${JSON.stringify(record)});
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
      [["key_00000001", 1, 10]],
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
