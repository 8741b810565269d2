// Tests for ModelStore on a real temp directory with generated GGUF files: import, dedupe, list,
// resolve, remove, rejection of corrupt files and stale tmp/ cleanup.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isOstromError } from "../errors.ts";
import { createRandomLlamaGguf } from "../gguf/create-random-llama.ts";
import { parseModelDigest } from "./model-ref.ts";
import { ModelStore } from "./model-store.ts";

let workDir: string;
/** Two different small valid GGUF files, generated once. */
let modelA: string;
let modelB: string;

before(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "ostrom-store-test-"));
  modelA = path.join(workDir, "model-a.gguf");
  modelB = path.join(workDir, "model-b.gguf");
  await createRandomLlamaGguf(modelA, { seed: 1 });
  await createRandomLlamaGguf(modelB, { seed: 2 });
});

after(async () => {
  await fs.rm(workDir, { recursive: true, force: true });
});

let storeCounter = 0;
async function openFreshStore(): Promise<ModelStore> {
  storeCounter += 1;
  return ModelStore.open(path.join(workDir, `store-${storeCounter}`, "models"));
}

async function sha256Of(file: string): Promise<string> {
  return createHash("sha256")
    .update(await fs.readFile(file))
    .digest("hex");
}

/** Every file under `dir`, relative, sorted: what the store left on disk. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("ModelStore", () => {
  test("importFile stores a content-addressed blob and a manifest", async () => {
    const store = await openFreshStore();
    const entry = await store.importFile(modelA, { name: "tiny" });
    const hex = await sha256Of(modelA);

    assert.equal(entry.ref, "tiny:latest");
    assert.equal(entry.digest, `sha256:${hex}`);
    assert.equal(entry.path, path.join(store.root, "blobs", `sha256-${hex}`));
    assert.equal(entry.size, (await fs.stat(modelA)).size);
    assert.deepEqual(entry.source, { kind: "import", location: modelA });
    assert.deepEqual(await fs.readFile(entry.path), await fs.readFile(modelA));
    assert.ok(await fs.stat(modelA), "the original is kept (copy, not move)");

    const manifest = JSON.parse(
      await fs.readFile(path.join(store.root, "manifests", "tiny", "latest.json"), "utf8"),
    );
    assert.deepEqual(manifest, {
      name: "tiny",
      tag: "latest",
      digest: entry.digest,
      size: entry.size,
      format: "gguf",
      source: { kind: "import", location: modelA },
      createdAt: entry.createdAt,
    });
    assert.deepEqual(await listFiles(store.root), [`blobs/sha256-${hex}`, "manifests/tiny/latest.json"]);
  });

  test("identical files share one blob; list is sorted", async () => {
    const store = await openFreshStore();
    await store.importFile(modelA, { name: "zeta" });
    await store.importFile(modelA, { name: "team/alpha:v1" });
    await store.importFile(modelB, { name: "beta:q8" });

    const entries = await store.list();
    assert.deepEqual(
      entries.map((entry) => entry.ref),
      ["beta:q8", "team/alpha:v1", "zeta:latest"],
    );
    assert.equal(entries[1]?.digest, entries[2]?.digest);
    assert.equal((await fs.readdir(path.join(store.root, "blobs"))).length, 2);
    assert.deepEqual(await fs.readdir(store.tmpDir), []);
  });

  test("concurrent imports of the same file are safe", async () => {
    const store = await openFreshStore();
    const names = ["one", "two", "three", "one:again", "two"];
    const entries = await Promise.all(names.map((name) => store.importFile(modelB, { name })));
    assert.equal(new Set(entries.map((entry) => entry.digest)).size, 1);
    assert.deepEqual(
      (await store.list()).map((entry) => entry.ref),
      ["one:again", "one:latest", "three:latest", "two:latest"],
    );
    assert.equal((await fs.readdir(path.join(store.root, "blobs"))).length, 1);
    assert.deepEqual(await fs.readdir(store.tmpDir), []);
    assert.deepEqual(await fs.readFile(entries[0]?.path ?? ""), await fs.readFile(modelB));
  });

  test("resolve finds a model by name and defaults the tag", async () => {
    const store = await openFreshStore();
    const imported = await store.importFile(modelA, { name: "tiny:v2" });
    await store.importFile(modelA, { name: "tiny" });
    assert.deepEqual(await store.resolve("tiny:v2"), imported);
    assert.equal((await store.resolve("tiny")).ref, "tiny:latest");
  });

  test("resolve of an unknown name suggests close names and how to add one", async () => {
    const store = await openFreshStore();
    await store.importFile(modelA, { name: "stories-tiny:v2" });
    await assert.rejects(store.resolve("stories-tiny"), (error: unknown) => {
      assert.ok(isOstromError(error, "model_not_found"));
      assert.match(error.message, /"stories-tiny:latest" is not in the store/);
      assert.match(error.message, /Did you mean stories-tiny:v2\?/);
      assert.match(error.message, /ostrom pull/);
      return true;
    });
    await assert.rejects(store.resolve("stories260k"), (error: unknown) => {
      assert.ok(isOstromError(error, "model_not_found"));
      assert.match(error.message, /in the built-in catalog: pull it with `ostrom pull stories260k`/);
      return true;
    });
    await assert.rejects(store.resolve("Bad Name"), (error: unknown) =>
      isOstromError(error, "invalid_model_reference"),
    );
  });

  test("has: a stored name (the tag defaulted), a damaged one, but not unknown or invalid names", async () => {
    const store = await openFreshStore();
    await store.importFile(modelA, { name: "tiny" });
    const damaged = await store.importFile(modelB, { name: "ns/broken:v1" });
    await fs.rm(damaged.path);
    assert.equal(await store.has("tiny"), true);
    assert.equal(await store.has("tiny:latest"), true);
    assert.equal(await store.has("ns/broken:v1"), true);
    assert.equal(await store.has("tiny:v2"), false);
    assert.equal(await store.has("ns/other"), false);
    assert.equal(await store.has("tiny:latest/deeper"), false);
    assert.equal(await store.has("Bad Name"), false);
  });

  test("has remembers a missing name, and forgets it when the store itself writes any manifest", async () => {
    const root = path.join(workDir, `store-absent-${++storeCounter}`, "models");
    // An hour: within the test, only the store's own writes can make `has` look again.
    const store = await ModelStore.open(root, { absentTtlMs: 3_600_000 });
    // Another process's store (the CLI beside a server): its writes are not seen within the TTL.
    const other = await ModelStore.open(root);
    assert.equal(await store.has("remote-name"), false);
    assert.equal(await store.has("ns/pulled:v1"), false);

    await other.importFile(modelA, { name: "remote-name" });
    assert.equal(await store.has("remote-name"), false, "another process's write waits for the TTL");

    // An import through this store: every remembered "no" is forgotten, not only its own name's.
    const imported = await store.importFile(modelB, { name: "unrelated" });
    assert.equal(await store.has("remote-name"), true);
    assert.equal(await store.has("unrelated"), true);

    // Naming an existing blob (what a pull ends with) forgets them too.
    assert.equal(await store.has("ns/pulled:v1"), false);
    await store.tag(imported.digest, "ns/pulled:v1", { kind: "pull", location: "https://example.test/m" });
    assert.equal(await store.has("ns/pulled:v1"), true);

    // A removed name is missing again at once (only "no" answers are remembered).
    await store.remove("ns/pulled:v1");
    assert.equal(await store.has("ns/pulled:v1"), false);
    assert.equal((await store.resolve("unrelated")).ref, "unrelated:latest");
  });

  test("has with absentTtlMs 0 looks at the disk every time", async () => {
    const root = path.join(workDir, `store-absent-${++storeCounter}`, "models");
    const store = await ModelStore.open(root, { absentTtlMs: 0 });
    const other = await ModelStore.open(root);
    assert.equal(await store.has("late"), false);
    await other.importFile(modelA, { name: "late" });
    assert.equal(await store.has("late"), true);
  });

  test("a manifest whose blob is missing is neither listed nor resolvable", async () => {
    const store = await openFreshStore();
    const entry = await store.importFile(modelA, { name: "gone" });
    await fs.rm(entry.path);
    assert.deepEqual(await store.list(), []);
    await assert.rejects(store.resolve("gone"), (error: unknown) => {
      assert.ok(isOstromError(error, "model_not_found"));
      assert.match(error.message, /damaged \(its blob sha256:[0-9a-f]{64} is missing\)/);
      return true;
    });
  });

  test("remove deletes the blob only when no other name uses it", async () => {
    const store = await openFreshStore();
    const first = await store.importFile(modelA, { name: "first" });
    await store.importFile(modelA, { name: "team/second:v1" });

    assert.deepEqual(await store.remove("first"), {
      ref: "first:latest",
      digest: first.digest,
      blobRemoved: false,
    });
    assert.ok(await store.hasBlob(first.digest));
    assert.deepEqual(
      (await store.list()).map((entry) => entry.ref),
      ["team/second:v1"],
    );

    assert.deepEqual(await store.remove("team/second:v1"), {
      ref: "team/second:v1",
      digest: first.digest,
      blobRemoved: true,
    });
    assert.equal(await store.hasBlob(first.digest), false);
    assert.deepEqual(await listFiles(store.root), []);
    assert.deepEqual(await fs.readdir(store.manifestsDir), [], "empty name folders are removed too");

    await assert.rejects(store.remove("first"), (error: unknown) => isOstromError(error, "model_not_found"));
  });

  test("a corrupt GGUF is rejected and leaves nothing behind", async () => {
    const store = await openFreshStore();
    const bad = path.join(workDir, "bad.gguf");
    await fs.writeFile(bad, Buffer.from("GGUF this is not really a model"));
    const truncated = path.join(workDir, "truncated.gguf");
    const bytes = await fs.readFile(modelA);
    await fs.writeFile(truncated, bytes.subarray(0, bytes.length - 1000));

    for (const file of [bad, truncated]) {
      await assert.rejects(store.importFile(file, { name: "bad" }), (error: unknown) =>
        isOstromError(error, "invalid_model_file"),
      );
    }
    await assert.rejects(
      store.importFile(path.join(workDir, "missing.gguf"), { name: "bad" }),
      (error: unknown) => isOstromError(error, "invalid_parameter"),
    );
    assert.deepEqual(await listFiles(store.root), []);
    assert.deepEqual(await store.list(), []);
  });

  test("an aborted import leaves nothing behind", async () => {
    const store = await openFreshStore();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      store.importFile(modelA, { name: "x", signal: controller.signal }),
      (error: unknown) => isOstromError(error, "request_cancelled"),
    );
    assert.deepEqual(await listFiles(store.root), []);
  });

  test("move: true moves the file into the store", async () => {
    const store = await openFreshStore();
    const copy = path.join(workDir, "to-move.gguf");
    await fs.copyFile(modelB, copy);
    const entry = await store.importFile(copy, { name: "moved", move: true });
    await assert.rejects(fs.stat(copy), { code: "ENOENT" });
    assert.deepEqual(await fs.readFile(entry.path), await fs.readFile(modelB));
    assert.deepEqual(await fs.readdir(store.tmpDir), []);

    // Moving a second copy of the same bytes reuses the blob and still consumes the file.
    await fs.copyFile(modelB, copy);
    const again = await store.importFile(copy, { name: "moved:again", move: true });
    assert.equal(again.digest, entry.digest);
    await assert.rejects(fs.stat(copy), { code: "ENOENT" });

    // A rejected file is left where it was.
    await fs.writeFile(copy, "GGUF not a model");
    await assert.rejects(store.importFile(copy, { name: "bad", move: true }), (error: unknown) =>
      isOstromError(error, "invalid_model_file"),
    );
    assert.equal(await fs.readFile(copy, "utf8"), "GGUF not a model");
    assert.deepEqual(
      (await store.list()).map((listed) => listed.ref),
      ["moved:again", "moved:latest"],
    );
  });

  test("tag names an existing blob; addVerifiedBlob moves a temp file in", async () => {
    const store = await openFreshStore();
    const temp = store.createTempPath("download");
    await fs.copyFile(modelA, temp);
    const digest = parseModelDigest(await sha256Of(modelA));
    await store.addVerifiedBlob(temp, digest);
    await assert.rejects(fs.stat(temp), { code: "ENOENT" });
    const entry = await store.tag(digest, "tagged:v1", {
      kind: "pull",
      location: "https://x/y.gguf",
    });
    assert.equal(entry.ref, "tagged:v1");
    assert.deepEqual(await store.resolve("tagged:v1"), entry);
    await assert.rejects(store.tag(parseModelDigest("0".repeat(64)), "nothing"), (error: unknown) =>
      isOstromError(error, "model_not_found"),
    );
  });

  test("open removes stale temp files but keeps live ones and resumable downloads", async () => {
    const root = path.join(workDir, "stale-store", "models");
    const tmp = path.join(root, "tmp");
    await fs.mkdir(tmp, { recursive: true });
    const old = new Date(Date.now() - 30 * 24 * 60 * 60 * 1000);
    const deadPid = 2 ** 30; // above any kernel's pid_max
    const files = {
      deadTemp: `${deadPid}-abcd.import.tmp`,
      liveTemp: `${process.pid}-abcd.import.tmp`,
      oldLiveTemp: `${process.pid}-ef01.manifest.tmp`,
      freshPartial: "sha256-aa.partial",
      freshPartialMeta: "sha256-aa.partial.json",
      oldPartial: "url-bb.partial",
      deadLock: "url-cc.lock",
      oldPartialWithLiveLock: "url-dd.partial",
      liveLock: "url-dd.lock",
      oldStray: "something-else",
    };
    for (const name of Object.values(files)) await fs.writeFile(path.join(tmp, name), "x");
    await fs.writeFile(path.join(tmp, files.deadLock), String(deadPid));
    await fs.writeFile(path.join(tmp, files.liveLock), String(process.pid));
    for (const name of [files.oldLiveTemp, files.oldPartial, files.oldPartialWithLiveLock, files.oldStray]) {
      await fs.utimes(path.join(tmp, name), old, old);
    }

    await ModelStore.open(root);
    assert.deepEqual(
      (await fs.readdir(tmp)).sort(),
      [
        files.freshPartial,
        files.freshPartialMeta,
        files.liveTemp,
        files.liveLock,
        files.oldPartialWithLiveLock,
      ].sort(),
    );
  });
});
