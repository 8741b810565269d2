import assert from "node:assert/strict";
import { open, stat, utimes } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { createTempDir, getTinyModelPath } from "../../test/helpers/test-models.ts";
import { isOstromError } from "../errors.ts";
import { ModelStore } from "../store/model-store.ts";
import { hashFile } from "../util/hash-file.ts";
import { IntegrityCache, verifyModelIntegrity } from "./verify-model-integrity.ts";

async function createStoredModel() {
  const store = await ModelStore.open(path.join(await createTempDir("ostrom-integrity-"), "models"));
  return store.importFile(await getTinyModelPath(), { name: "tiny" });
}

function createCountingHash() {
  const counter = {
    calls: 0,
    hash: (file: string) => {
      counter.calls++;
      return hashFile(file);
    },
  };
  return counter;
}

/** Flips one byte in the middle of the file, as bit rot would, keeping its size. */
async function flipByte(file: string, restoreMtime: boolean): Promise<void> {
  const before = await stat(file);
  const handle = await open(file, "r+");
  try {
    const offset = Math.floor(before.size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
  // File systems stamp times at clock-tick granularity; make sure the change is visible in ctime
  // (and, unless restored, mtime) as it would be for any change not made within the same tick.
  const mtime = restoreMtime ? before.mtime : new Date(before.mtimeMs + 10_000);
  await utimes(file, before.atime, mtime);
  for (let attempt = 0; (await stat(file)).ctimeMs === before.ctimeMs && attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await utimes(file, before.atime, mtime);
  }
}

const isIntegrityFailure = (error: unknown) =>
  isOstromError(error, "model_integrity_failed") &&
  error.status === 500 &&
  /tiny:latest/.test(error.message) &&
  /changed on disk/.test(error.message);

test("an intact stored model passes, and is hashed once while its file is unchanged", async () => {
  const entry = await createStoredModel();
  const cache = new IntegrityCache();
  const counter = createCountingHash();
  await Promise.all([
    verifyModelIntegrity(entry, { cache, hash: counter.hash }),
    verifyModelIntegrity(entry, { cache, hash: counter.hash }),
  ]);
  await verifyModelIntegrity(entry, { cache, hash: counter.hash });
  assert.equal(counter.calls, 1, "concurrent and later checks share one hash");
});

test("a byte flipped on disk after import is refused before loading", async () => {
  const entry = await createStoredModel();
  const cache = new IntegrityCache();
  const counter = createCountingHash();
  await verifyModelIntegrity(entry, { cache, hash: counter.hash });
  await flipByte(entry.path, false);
  await assert.rejects(verifyModelIntegrity(entry, { cache, hash: counter.hash }), isIntegrityFailure);
  assert.equal(counter.calls, 2, "a changed file is hashed again");
  await assert.rejects(verifyModelIntegrity(entry, { cache, hash: counter.hash }), isIntegrityFailure);
  assert.equal(counter.calls, 2, "the refusal is remembered while the file stays as it is");
});

test("setting mtime back after tampering does not hide the change", async () => {
  const entry = await createStoredModel();
  const cache = new IntegrityCache();
  await verifyModelIntegrity(entry, { cache });
  await flipByte(entry.path, true);
  await assert.rejects(verifyModelIntegrity(entry, { cache }), isIntegrityFailure);
});

test("a file that is fixed again passes again", async () => {
  const entry = await createStoredModel();
  const cache = new IntegrityCache();
  await flipByte(entry.path, false);
  await assert.rejects(verifyModelIntegrity(entry, { cache }), isIntegrityFailure);
  await flipByte(entry.path, false);
  await verifyModelIntegrity(entry, { cache });
});

test("a missing file is an integrity failure that is not remembered", async () => {
  const cache = new IntegrityCache();
  const target = { ref: "tiny:latest", digest: `sha256:${"0".repeat(64)}`, path: "/nonexistent/blob" };
  await assert.rejects(verifyModelIntegrity(target, { cache }), isIntegrityFailure);
  assert.equal(cache.get(target.path), undefined);
});

test("an aborted wait is request_cancelled", async () => {
  const entry = await createStoredModel();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    verifyModelIntegrity(entry, { cache: new IntegrityCache(), signal: controller.signal }),
    (error: unknown) => isOstromError(error, "request_cancelled"),
  );
});

test("the cache forgets the oldest verdicts beyond its bound", async () => {
  const cache = new IntegrityCache(1);
  const first = await createStoredModel();
  const second = await createStoredModel();
  await verifyModelIntegrity(first, { cache });
  await verifyModelIntegrity(second, { cache });
  assert.equal(cache.get(first.path), undefined);
  assert.ok(cache.get(second.path));
});
