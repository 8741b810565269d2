// The on-disk model store: content-addressed GGUF blobs plus small JSON manifests that give them
// names. Layout under the root (normally `<dataDir>/models`):
//
//   blobs/sha256-<hex>             complete, verified files only (they appear by atomic rename)
//   manifests/<name>/<tag>.json    `name` may be `namespace/name`; written by temp file + rename
//   tmp/                           everything in progress: import copies, manifest drafts, and the
//                                  puller's resumable `<key>.partial` (+ `.partial.json`, `.lock`)
//
// A crash can only leave files in tmp/, which `open` cleans once stale, so nothing half-written ever
// looks usable. Within one process, writes that touch both blobs and manifests are serialised; across
// processes, blob and manifest writes are still atomic (last writer wins). This module knows nothing
// about HTTP; the only project dependencies are the error catalog and the GGUF validator.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, type Dirent, type Stats, statSync } from "node:fs";
import * as fs from "node:fs/promises";
import path from "node:path";
import { invalidParameter, OstromError } from "../errors.ts";
import { readGgufInfo } from "../gguf/read-gguf.ts";
import { toCancellation } from "./cancellation.ts";
import { findCatalogEntry } from "./catalog.ts";
import {
  isErrnoException,
  isProcessAlive,
  removeFileQuietly,
  syncDirectory,
  writeFully,
} from "./fs-helpers.ts";
import {
  getDigestHex,
  isModelDigest,
  type ModelDigest,
  type ModelName,
  parseModelDigest,
  parseModelName,
} from "./model-ref.ts";

/** Where a model came from, kept in its manifest for provenance. */
export interface ModelSource {
  readonly kind: "import" | "pull";
  /** Absolute file path for imports; the canonical URL for pulls. */
  readonly location: string;
}

export interface ModelEntry {
  /** Canonical `name:tag`. */
  readonly ref: string;
  readonly name: string;
  readonly tag: string;
  readonly digest: ModelDigest;
  /** Blob size in bytes. */
  readonly size: number;
  /** Absolute path of the blob; open it read-only. */
  readonly path: string;
  /** ISO 8601 time the name was (last) given to this blob. */
  readonly createdAt: string;
  readonly source: ModelSource | undefined;
}

export interface RemovedModel {
  readonly ref: string;
  /** The blob the name pointed to; undefined when its manifest was unreadable. */
  readonly digest: ModelDigest | undefined;
  /** True when no other name referenced the blob, so its file was deleted too. */
  readonly blobRemoved: boolean;
}

export interface ModelStoreOptions {
  /**
   * Temp files older than this are deleted by `open` even if their owning process seems alive
   * (process ids get reused). Files of a dead process are deleted at once. Default: 24 hours.
   */
  staleTempMs?: number;
  /** Resumable partial downloads untouched for this long are deleted by `open`. Default: 7 days. */
  stalePartialMs?: number;
  /**
   * How long `has` trusts an earlier "no such model" without looking at the disk again: it is asked on
   * every request for a remote model. Any manifest written through this store forgets those answers at
   * once; this bounds how long a model added by another process (the CLI beside a running server)
   * stays unseen by `has`. 0 turns the cache off. Default: 1000 ms.
   */
  absentTtlMs?: number;
}

export interface ImportFileOptions {
  /** Local name to store the model under, `[namespace/]name[:tag]`. */
  name: string;
  signal?: AbortSignal;
  /**
   * Move the file into the store instead of copying it: a rename when on the same file system
   * (then the file must not be modified during the import), else a copy and a delete. Default: false.
   */
  move?: boolean;
  /**
   * Called with the file's digest once it is hashed, before anything is added to the store (e.g. to
   * check a signature over it); throwing refuses the import and leaves nothing behind.
   */
  verifyDigest?: (digest: ModelDigest) => Promise<void>;
}

/** The files a resumable download keeps in tmp/, all named after one key. */
export interface PartialDownloadPaths {
  /** The bytes received so far. */
  readonly data: string;
  /** JSON: where they came from and how many are known durable. */
  readonly meta: string;
  /** Exists while a process downloads; holds its decimal process id. */
  readonly lock: string;
}

interface Manifest {
  name: string;
  tag: string;
  digest: ModelDigest;
  size: number;
  format: "gguf";
  source?: ModelSource;
  createdAt: string;
}

const hourMs = 60 * 60 * 1000;
const defaultStaleTempMs = 24 * hourMs;
const defaultStalePartialMs = 7 * 24 * hourMs;
const tempFilePattern = /^(\d+)-[0-9a-f]+\.[a-z-]+\.tmp$/;
const partialKeyPattern = /^[a-z0-9-]+$/;
const defaultAbsentTtlMs = 1000;
/** Distinct absent names remembered at most; the cache is emptied when it is full. */
const maxAbsentNames = 1024;

export class ModelStore {
  /** Absolute root directory of the store. */
  readonly root: string;
  readonly blobsDir: string;
  readonly manifestsDir: string;
  readonly tmpDir: string;
  /** Tail of the queue of in-process operations that must not interleave (see `#exclusive`). */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #absentTtlMs: number;
  /** Canonical refs `has` found without a manifest, since `#absentSince` (see `absentTtlMs`). */
  #absent = new Set<string>();
  #absentSince = 0;

  private constructor(root: string, absentTtlMs: number) {
    this.#absentTtlMs = absentTtlMs;
    this.root = root;
    this.blobsDir = path.join(root, "blobs");
    this.manifestsDir = path.join(root, "manifests");
    this.tmpDir = path.join(root, "tmp");
  }

  /** Opens (creating if needed) the store at `root` and deletes stale temp files. */
  static async open(root: string, options: ModelStoreOptions = {}): Promise<ModelStore> {
    const store = new ModelStore(path.resolve(root), options.absentTtlMs ?? defaultAbsentTtlMs);
    await fs.mkdir(store.blobsDir, { recursive: true });
    await fs.mkdir(store.manifestsDir, { recursive: true });
    await fs.mkdir(store.tmpDir, { recursive: true });
    await store.#cleanTemp(
      options.staleTempMs ?? defaultStaleTempMs,
      options.stalePartialMs ?? defaultStalePartialMs,
    );
    return store;
  }

  blobPath(digest: ModelDigest): string {
    return path.join(this.blobsDir, `sha256-${getDigestHex(digest)}`);
  }

  /** A fresh, unique path in tmp/ for a file this process is about to write. */
  createTempPath(purpose: string): string {
    if (!/^[a-z-]+$/.test(purpose)) throw new Error(`temp file purpose must be [a-z-]+, got "${purpose}"`);
    return path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.${purpose}.tmp`);
  }

  /** The tmp/ files of a resumable download named `key` (lowercase letters, digits and "-"). */
  getPartialDownloadPaths(key: string): PartialDownloadPaths {
    if (!partialKeyPattern.test(key))
      throw new Error(`partial download key must be [a-z0-9-]+, got "${key}"`);
    const base = path.join(this.tmpDir, key);
    return { data: `${base}.partial`, meta: `${base}.partial.json`, lock: `${base}.lock` };
  }

  /** Whether a complete blob with this digest is in the store. */
  async hasBlob(digest: ModelDigest): Promise<boolean> {
    return (await statOrUndefined(this.blobPath(digest)))?.isFile() === true;
  }

  /** Every named model whose manifest is readable and whose blob is present, sorted by `ref`. */
  async list(): Promise<ModelEntry[]> {
    const entries: ModelEntry[] = [];
    for (const { name, tag } of await this.#listManifestNames()) {
      const entry = await this.#readEntry(name, tag);
      if (entry !== undefined && typeof entry !== "string") entries.push(entry);
    }
    return entries.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  /**
   * Whether a model named `ref` is in the store (damaged or not), i.e. has a manifest; cheap, unlike a
   * failed `resolve`. Asked on every request for a remote model, hence one synchronous `stat` that does
   * not throw when the file is missing: the promise API's open-fail-and-throw cost ~4 % of the gateway's
   * CPU (docs/benchmarks.md). A "no" is then remembered for `absentTtlMs` (the `stat` was ~1.4 %), and
   * forgotten as soon as this store writes any manifest.
   */
  async has(ref: string): Promise<boolean> {
    let parsed: ReturnType<typeof parseModelName>;
    try {
      parsed = parseModelName(ref);
    } catch {
      return false;
    }
    const now = Date.now();
    if (this.#absent.size > 0 && now - this.#absentSince >= this.#absentTtlMs) this.#absent.clear();
    if (this.#absent.has(parsed.ref)) return false;
    const found =
      statSync(this.#manifestPath(parsed.name, parsed.tag), { throwIfNoEntry: false })?.isFile() === true;
    if (!found && this.#absentTtlMs > 0) {
      if (this.#absent.size >= maxAbsentNames) this.#absent.clear();
      if (this.#absent.size === 0) this.#absentSince = now;
      this.#absent.add(parsed.ref);
    }
    return found;
  }

  /** The model named `ref` (`name[:tag]`), or `model_not_found` with suggestions. */
  async resolve(ref: string): Promise<ModelEntry> {
    const { name, tag, ref: canonical } = parseModelName(ref);
    const entry = await this.#readEntry(name, tag);
    if (entry === undefined) throw await this.#notFound(canonical, name);
    if (typeof entry === "string") {
      throw new OstromError(
        "model_not_found",
        `Model "${canonical}" is damaged (${entry}); remove it and pull or import it again.`,
      );
    }
    return entry;
  }

  /**
   * Validates `file` as GGUF, copies (or moves) it into the store while hashing it, and names it.
   * An identical blob already in the store is reused. On any failure nothing is left behind.
   */
  async importFile(file: string, options: ImportFileOptions): Promise<ModelEntry> {
    const modelName = parseModelName(options.name);
    const { signal } = options;
    const source = path.resolve(file);
    try {
      signal?.throwIfAborted();
      const stat = await statOrUndefined(source);
      if (stat === undefined) throw invalidParameter("file", `No file at ${source}.`);
      if (!stat.isFile()) throw invalidParameter("file", `${source} is not a regular file.`);
      // Fail fast on a non-GGUF file before copying gigabytes.
      await readGgufInfo(source, { signal });
    } catch (error) {
      throw toCancellation(error, signal);
    }

    const moveInPlace =
      options.move === true && (await fs.stat(source)).dev === (await fs.stat(this.blobsDir)).dev;
    if (moveInPlace) return this.#importByRename(source, modelName, signal, options.verifyDigest);

    const temp = this.createTempPath("import");
    try {
      const hashed = await copyAndHash(source, temp, signal);
      // Validate the bytes actually stored, not just the file as it was a moment ago.
      await readGgufInfo(temp, { displayName: path.basename(source), signal });
      const digest = parseModelDigest(hashed.hex);
      await options.verifyDigest?.(digest);
      const entry = await this.#exclusive(async () => {
        await this.#placeBlob(temp, digest);
        return this.#writeManifest(digest, modelName.name, modelName.tag, {
          kind: "import",
          location: source,
        });
      });
      // A move across file systems is a copy followed by deleting the original.
      if (options.move === true) await removeFileQuietly(source);
      return entry;
    } catch (error) {
      await removeFileQuietly(temp);
      throw toCancellation(error, signal);
    }
  }

  /**
   * `importFile` with `move` on one file system: hash the file where it is, then rename it straight
   * to its blob path. It never sits in tmp/, so a crash cannot get the user's only copy cleaned up.
   */
  async #importByRename(
    source: string,
    modelName: ModelName,
    signal: AbortSignal | undefined,
    verifyDigest: ImportFileOptions["verifyDigest"],
  ): Promise<ModelEntry> {
    let hashed: { hex: string; size: number };
    try {
      hashed = await hashFile(source, signal);
    } catch (error) {
      throw toCancellation(error, signal);
    }
    const digest = parseModelDigest(hashed.hex);
    await verifyDigest?.(digest);
    const blob = this.blobPath(digest);
    return this.#exclusive(async () => {
      const existing = await statOrUndefined(blob);
      const reuse = existing?.isFile() === true && existing.size === hashed.size;
      if (!reuse) {
        if ((await fs.stat(source)).size !== hashed.size) {
          throw invalidParameter("file", `${source} changed while it was being imported.`);
        }
        await fs.rename(source, blob);
        await syncDirectory(this.blobsDir);
      }
      try {
        const entry = await this.#writeManifest(digest, modelName.name, modelName.tag, {
          kind: "import",
          location: source,
        });
        if (reuse) await removeFileQuietly(source);
        return entry;
      } catch (error) {
        // Give the user their file back; the blob stays (unnamed) for a later retry.
        if (!reuse) await fs.copyFile(blob, source).catch(() => undefined);
        throw error;
      }
    });
  }

  /**
   * Moves a fully downloaded and verified file into the blob directory. `tempPath` should be in
   * tmp/ (then this is an atomic rename). If the blob already exists the temp file is just deleted.
   */
  async addVerifiedBlob(tempPath: string, digest: ModelDigest): Promise<void> {
    if (!isModelDigest(digest)) throw new Error(`not a model digest: ${String(digest)}`);
    await syncFile(tempPath);
    await this.#exclusive(() => this.#placeBlob(tempPath, digest));
  }

  /** Names an existing blob `name` (`[namespace/]name[:tag]`), replacing what that name pointed to. */
  async tag(digest: ModelDigest, name: string, source?: ModelSource): Promise<ModelEntry> {
    const modelName = parseModelName(name);
    return this.#exclusive(async () => {
      if (!(await this.hasBlob(digest))) {
        throw new OstromError(
          "model_not_found",
          `No blob ${digest} in the store to name "${modelName.ref}".`,
        );
      }
      return this.#writeManifest(digest, modelName.name, modelName.tag, source);
    });
  }

  /** Deletes the name `ref`, and its blob when no other name uses it. */
  async remove(ref: string): Promise<RemovedModel> {
    const { name, tag, ref: canonical } = parseModelName(ref);
    return this.#exclusive(async () => {
      const manifestFile = this.#manifestPath(name, tag);
      const manifest = await this.#readManifest(name, tag);
      if (manifest === undefined) throw await this.#notFound(canonical, name);
      await fs.rm(manifestFile);
      await syncDirectory(path.dirname(manifestFile));
      await this.#removeEmptyManifestDirs(name);
      if (typeof manifest === "string") return { ref: canonical, digest: undefined, blobRemoved: false };

      let stillUsed = false;
      for (const other of await this.#listManifestNames()) {
        const otherManifest = await this.#readManifest(other.name, other.tag);
        if (typeof otherManifest === "object" && otherManifest.digest === manifest.digest) {
          stillUsed = true;
          break;
        }
      }
      if (!stillUsed) {
        await removeFileQuietly(this.blobPath(manifest.digest));
        await syncDirectory(this.blobsDir);
      }
      return { ref: canonical, digest: manifest.digest, blobRemoved: !stillUsed };
    });
  }

  /** Runs `task` after every earlier exclusive task of this store has settled. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task, task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #placeBlob(tempPath: string, digest: ModelDigest): Promise<void> {
    const blob = this.blobPath(digest);
    const [existing, incoming] = await Promise.all([statOrUndefined(blob), fs.stat(tempPath)]);
    if (existing?.isFile() === true && existing.size === incoming.size) {
      await removeFileQuietly(tempPath);
      return;
    }
    await fs.rename(tempPath, blob);
    await syncDirectory(this.blobsDir);
  }

  #manifestPath(name: string, tag: string): string {
    return path.join(this.manifestsDir, ...name.split("/"), `${tag}.json`);
  }

  async #writeManifest(
    digest: ModelDigest,
    name: string,
    tag: string,
    source: ModelSource | undefined,
  ): Promise<ModelEntry> {
    const blobStat = await fs.stat(this.blobPath(digest));
    const manifest: Manifest = {
      name,
      tag,
      digest,
      size: blobStat.size,
      format: "gguf",
      ...(source === undefined ? {} : { source: { kind: source.kind, location: source.location } }),
      createdAt: new Date().toISOString(),
    };
    const target = this.#manifestPath(name, tag);
    const temp = this.createTempPath("manifest");
    try {
      const handle = await fs.open(temp, "wx");
      try {
        await writeFully(handle, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // Another process's `remove` may delete an empty directory between mkdir and rename: retry once.
      for (let attempt = 0; ; attempt++) {
        await fs.mkdir(path.dirname(target), { recursive: true });
        try {
          await fs.rename(temp, target);
          break;
        } catch (error) {
          if (attempt > 0 || !isErrnoException(error) || error.code !== "ENOENT") throw error;
        }
      }
      await syncDirectory(path.dirname(target));
    } finally {
      // Once the rename has completed (or failed): a "no" that `has` remembered before it is dropped,
      // and every `has` from now on finds the file.
      this.#absent.clear();
      await removeFileQuietly(temp);
    }
    return this.#toEntry(manifest);
  }

  #toEntry(manifest: Manifest): ModelEntry {
    return {
      ref: `${manifest.name}:${manifest.tag}`,
      name: manifest.name,
      tag: manifest.tag,
      digest: manifest.digest,
      size: manifest.size,
      path: this.blobPath(manifest.digest),
      createdAt: manifest.createdAt,
      source: manifest.source,
    };
  }

  /** The manifest, a string saying why it is unusable, or undefined when there is none. */
  async #readManifest(name: string, tag: string): Promise<Manifest | string | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.#manifestPath(name, tag), "utf8");
    } catch (error) {
      if (isErrnoException(error) && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
      throw error;
    }
    return parseManifest(text, name, tag) ?? "its manifest is unreadable";
  }

  /** Like `#readManifest`, and also checks that the blob is there with the recorded size. */
  async #readEntry(name: string, tag: string): Promise<ModelEntry | string | undefined> {
    const manifest = await this.#readManifest(name, tag);
    if (manifest === undefined || typeof manifest === "string") return manifest;
    const blobStat = await statOrUndefined(this.blobPath(manifest.digest));
    if (blobStat === undefined) return `its blob ${manifest.digest} is missing`;
    if (blobStat.size !== manifest.size)
      return `its blob has ${blobStat.size} bytes, expected ${manifest.size}`;
    return this.#toEntry(manifest);
  }

  /** Every `name`/`tag` pair with a manifest file whose path forms a valid model name. */
  async #listManifestNames(): Promise<Array<{ name: string; tag: string }>> {
    const found: Array<{ name: string; tag: string }> = [];
    const visit = async (directory: string, nameParts: string[]): Promise<void> => {
      let children: Dirent[];
      try {
        children = await fs.readdir(directory, { withFileTypes: true });
      } catch (error) {
        if (isErrnoException(error) && error.code === "ENOENT") return;
        throw error;
      }
      for (const child of children) {
        if (child.isDirectory() && nameParts.length < 2) {
          await visit(path.join(directory, child.name), [...nameParts, child.name]);
        } else if (child.isFile() && child.name.endsWith(".json") && nameParts.length > 0) {
          const ref = `${nameParts.join("/")}:${child.name.slice(0, -".json".length)}`;
          try {
            const { name, tag } = parseModelName(ref);
            found.push({ name, tag });
          } catch {
            // A stray file that no valid name maps to: not a model.
          }
        }
      }
    };
    await visit(this.manifestsDir, []);
    return found;
  }

  async #removeEmptyManifestDirs(name: string): Promise<void> {
    const parts = name.split("/");
    for (let depth = parts.length; depth > 0; depth--) {
      try {
        await fs.rmdir(path.join(this.manifestsDir, ...parts.slice(0, depth)));
      } catch {
        return; // not empty (other tags or names live there) or already gone
      }
    }
  }

  async #notFound(ref: string, name: string): Promise<OstromError> {
    const entries = await this.list();
    const suggestions = entries
      .filter((entry) => entry.name === name || isCloseName(name, entry.name))
      .map((entry) => entry.ref)
      .slice(0, 5);
    const parts = [`Model "${ref}" is not in the store.`];
    if (suggestions.length > 0) parts.push(`Did you mean ${suggestions.join(", ")}?`);
    else if (entries.length === 0) parts.push("The store is empty.");
    if (findCatalogEntry(name) !== undefined) {
      parts.push(`"${name}" is in the built-in catalog: pull it with \`ostrom pull ${name}\`.`);
    } else {
      parts.push(
        "Add a model with `ostrom pull <catalog name | URL | owner/repo/file.gguf>` or `ostrom import <file.gguf> --name <name>`.",
      );
    }
    return new OstromError("model_not_found", parts.join(" "));
  }

  async #cleanTemp(staleTempMs: number, stalePartialMs: number): Promise<void> {
    const now = Date.now();
    const names = await fs.readdir(this.tmpDir);
    const liveLockKeys = new Set<string>();
    for (const name of names.filter((candidate) => candidate.endsWith(".lock"))) {
      const file = path.join(this.tmpDir, name);
      const pid = Number.parseInt(await fs.readFile(file, "utf8").catch(() => ""), 10);
      if (isProcessAlive(pid)) liveLockKeys.add(name.slice(0, -".lock".length));
      else await removeFileQuietly(file);
    }
    for (const name of names) {
      if (name.endsWith(".lock")) continue;
      const file = path.join(this.tmpDir, name);
      const stat = await statOrUndefined(file);
      if (stat === undefined || !stat.isFile()) continue;
      const age = now - stat.mtimeMs;
      const tempMatch = tempFilePattern.exec(name);
      const partialKey = /^(.+)\.partial(?:\.json)?$/.exec(name)?.[1];
      let stale: boolean;
      if (tempMatch !== null) {
        const pid = Number(tempMatch[1]);
        stale = (pid !== process.pid && !isProcessAlive(pid)) || age > staleTempMs;
      } else if (partialKey !== undefined) {
        stale = !liveLockKeys.has(partialKey) && age > stalePartialMs;
      } else {
        stale = age > staleTempMs;
      }
      if (stale) await removeFileQuietly(file);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseManifest(text: string, name: string, tag: string): Manifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { digest, size, createdAt, format, source } = value;
  if (value.name !== name || value.tag !== tag || format !== "gguf") return undefined;
  if (typeof digest !== "string" || !isModelDigest(digest)) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof createdAt !== "string") return undefined;
  const manifest: Manifest = { name, tag, digest, size, format, createdAt };
  if (source !== undefined) {
    if (!isRecord(source) || typeof source.location !== "string") return undefined;
    if (source.kind !== "import" && source.kind !== "pull") return undefined;
    manifest.source = { kind: source.kind, location: source.location };
  }
  return manifest;
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(file);
  } catch (error) {
    if (isErrnoException(error) && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
    throw error;
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const chunkBytes = 1 << 20;

async function hashFile(
  file: string,
  signal: AbortSignal | undefined,
): Promise<{ hex: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest("hex"), size };
}

async function copyAndHash(
  from: string,
  to: string,
  signal: AbortSignal | undefined,
): Promise<{ hex: string; size: number }> {
  const hash = createHash("sha256");
  const out = await fs.open(to, "wx");
  let size = 0;
  try {
    for await (const chunk of createReadStream(from, {
      highWaterMark: chunkBytes,
    }) as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      hash.update(chunk);
      await writeFully(out, chunk, size);
      size += chunk.length;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { hex: hash.digest("hex"), size };
}

function isCloseName(wanted: string, candidate: string): boolean {
  const a = wanted.split("/").pop() ?? wanted;
  const b = candidate.split("/").pop() ?? candidate;
  if (a.length >= 3 && (b.includes(a) || a.includes(b))) return true;
  return getEditDistance(a, b) <= Math.max(2, Math.floor(a.length / 4));
}

function getEditDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
