// Checks, before a stored model is loaded, that its file still has the sha256 it was imported or
// pulled with, so a file changed on disk afterwards (bit rot, tampering) never reaches llama.cpp.
// Hashing a multi-GB file on every request would be absurd, so a verdict is remembered per process,
// keyed by the file's path and identity (size, mtime, ctime, inode, device), and the file is hashed
// again only when any of those changes. ctime is in the key because a process can set mtime back
// after writing, but not ctime. Concurrent callers for the same file share one hash. Used by the
// server (through `ModelProvenanceService.assertServable`) and by `ostrom run`/`chat`; knows nothing
// of HTTP or the engine.

import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { isOstromError, OstromError } from "../errors.ts";
import { type FileHash, hashFile } from "../util/hash-file.ts";

/** What is needed of a store entry: its name (for messages), digest and blob path. */
export interface IntegrityTarget {
  readonly ref: string;
  /** `sha256:<hex>` the file was stored under. */
  readonly digest: string;
  readonly path: string;
}

export interface VerifyModelIntegrityOptions {
  /** Stops waiting (the shared hash goes on for other callers). */
  signal?: AbortSignal;
  /** Remembered verdicts; default: one cache for the whole process. */
  cache?: IntegrityCache;
  /** How files are hashed; default: streamed sha256. Tests count calls through it. */
  hash?: (path: string) => Promise<FileHash>;
}

interface Verdict {
  readonly identity: string;
  readonly digest: string;
  /** Settles once hashed: resolves when the file matches, rejects with `model_integrity_failed`. */
  readonly result: Promise<void>;
}

/** Verdicts by file path, at most `maxEntries` (the oldest is forgotten first). */
export class IntegrityCache {
  readonly #verdicts = new Map<string, Verdict>();
  readonly #maxEntries: number;

  /** `maxEntries`: default 256. */
  constructor(maxEntries = 256) {
    this.#maxEntries = maxEntries;
  }

  get(path: string): Verdict | undefined {
    return this.#verdicts.get(path);
  }

  set(path: string, verdict: Verdict): void {
    this.#verdicts.delete(path);
    this.#verdicts.set(path, verdict);
    while (this.#verdicts.size > this.#maxEntries) {
      const oldest = this.#verdicts.keys().next().value;
      if (oldest === undefined) break;
      this.#verdicts.delete(oldest);
    }
  }

  delete(path: string, verdict: Verdict): void {
    if (this.#verdicts.get(path) === verdict) this.#verdicts.delete(path);
  }
}

const processCache = new IntegrityCache();

/** Resolves when `target`'s file has its recorded sha256; otherwise throws `model_integrity_failed`. */
export async function verifyModelIntegrity(
  target: IntegrityTarget,
  options: VerifyModelIntegrityOptions = {},
): Promise<void> {
  const cache = options.cache ?? processCache;
  const { signal } = options;
  if (signal?.aborted === true) throw toCancelled(signal);
  const stats = await stat(target.path).catch((error: unknown) => {
    throw integrityFailure(target, "its file cannot be read", error);
  });
  const identity = getIdentity(stats);
  let verdict = cache.get(target.path);
  if (verdict === undefined || verdict.identity !== identity || verdict.digest !== target.digest) {
    verdict = createVerdict(target, identity, options.hash ?? hashFile);
    cache.set(target.path, verdict);
    const settled = verdict;
    // A file that changed while it was hashed, or could not be read, gets no lasting verdict.
    settled.result.then(
      () => forgetIfChanged(target.path, settled, cache),
      (error: unknown) =>
        isOstromError(error, "model_integrity_failed") && error.cause === mismatch
          ? forgetIfChanged(target.path, settled, cache)
          : cache.delete(target.path, settled),
    );
  }
  await waitFor(verdict.result, signal);
}

/** Marks failures that are a real digest mismatch (cached), as opposed to read errors (retried). */
const mismatch = Symbol("digest mismatch");

function createVerdict(
  target: IntegrityTarget,
  identity: string,
  hash: (path: string) => Promise<FileHash>,
): Verdict {
  const result = (async () => {
    let actual: FileHash;
    try {
      actual = await hash(target.path);
    } catch (error) {
      throw integrityFailure(target, "its file cannot be read", error);
    }
    if (`sha256:${actual.hex}` !== target.digest) {
      throw integrityFailure(
        target,
        `its file now hashes to sha256:${actual.hex}, not the ${target.digest} it was stored as`,
        mismatch,
      );
    }
  })();
  result.catch(() => undefined); // observed by every caller; never an unhandled rejection here
  return { identity, digest: target.digest, result };
}

async function forgetIfChanged(path: string, verdict: Verdict, cache: IntegrityCache): Promise<void> {
  const now = await stat(path).catch(() => undefined);
  if (now === undefined || getIdentity(now) !== verdict.identity) cache.delete(path, verdict);
}

function getIdentity(stats: Stats): string {
  return [stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino, stats.dev].join(":");
}

function integrityFailure(target: IntegrityTarget, problem: string, cause: unknown): OstromError {
  return new OstromError(
    "model_integrity_failed",
    `Model "${target.ref}" failed its integrity check: ${problem}. It changed on disk after it was stored ` +
      `(bit rot or tampering) and will not be loaded; remove it and import or pull it again.`,
    { cause },
  );
}

function waitFor(result: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return result;
  if (signal.aborted) return Promise.reject(toCancelled(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(toCancelled(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    result.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function toCancelled(signal: AbortSignal): OstromError {
  return new OstromError("request_cancelled", "The operation was cancelled.", { cause: signal.reason });
}
