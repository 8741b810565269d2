// Downloads a GGUF model into the store: tries each mirror (HTTP base URL or local folder) and then
// the original URL, resumes interrupted downloads with HTTP Range + If-Range, verifies sha256 and the
// GGUF header, and only then adds the blob and names it. Progress is reported through a callback and
// the whole operation is cancellable. Depends on the store and the GGUF validator; it speaks HTTP
// through an injectable `fetch`, so it has no server or CLI knowledge.

import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { invalidParameter, isOstromError, OstromError } from "../errors.ts";
import { readGgufInfo } from "../gguf/read-gguf.ts";
import { toCancellation } from "./cancellation.ts";
import { isErrnoException, isProcessAlive, removeFileQuietly, writeFully } from "./fs-helpers.ts";
import {
  getDigestHex,
  type ModelDigest,
  type PullReference,
  parseModelDigest,
  parseModelName,
  parsePullReference,
} from "./model-ref.ts";
import type { ModelEntry, ModelStore, PartialDownloadPaths } from "./model-store.ts";

export interface PullProgressEvent {
  readonly phase: "connecting" | "downloading" | "verifying" | "done";
  /** The URL or local file the bytes are coming from. */
  readonly source: string;
  /** Bytes of the file on disk so far, including any resumed from an earlier attempt. */
  readonly receivedBytes: number;
  /** The file's full size, when the source or the catalog says. */
  readonly totalBytes?: number;
  /** Bytes kept from an earlier, interrupted attempt (0 when starting afresh). */
  readonly resumedFromBytes: number;
}

export interface PullModelOptions {
  /** Local name to store the model under. Default: the catalog name, or one derived from the file name. */
  name?: string;
  /**
   * Mirrors tried, in order, before the original URL: HTTP(S) base URLs, local folders or `file://`
   * URLs. A mirror is asked for `sha256/<hex>` (when the hash is known), then `<file name>`, and for
   * Hugging Face references `<owner>/<repo>/<path>`. Default: none.
   */
  mirrors?: readonly string[];
  /** Expected sha256 (hex, or `sha256:<hex>`). Default: the catalog's, else unchecked (GGUF header only). */
  expectedSha256?: string;
  signal?: AbortSignal;
  /** Called synchronously for every phase change and received chunk; it should be cheap. */
  onProgress?: (event: PullProgressEvent) => void;
  /** The `fetch` to use. Default: the global one. */
  fetchImpl?: typeof fetch;
  /** Use mirrors only, never the original URL. Default: false. */
  offline?: boolean;
  /**
   * Called with the file's digest once it is downloaded and verified, before it is added to the store
   * or named (e.g. to check a signature over it); throwing refuses the pull, and the download is
   * deleted. Default: none.
   */
  verifyDigest?: (digest: ModelDigest) => Promise<void>;
}

type Source =
  | { readonly kind: "http"; readonly url: string }
  | { readonly kind: "file"; readonly path: string };

type FailureKind = "not_found" | "unavailable" | "truncated" | "checksum" | "invalid_file";

type Attempt =
  | { readonly ok: true; readonly digest: ModelDigest }
  | { readonly ok: false; readonly kind: FailureKind; readonly reason: string };

/** What `<key>.partial.json` records about the bytes in `<key>.partial`. */
interface PartialMeta {
  url: string;
  etag: string | undefined;
  lastModified: string | undefined;
  expectedSha256: string | undefined;
  /** Bytes known to be durably written (fsynced) at the last checkpoint. */
  bytes: number;
  totalBytes: number | undefined;
}

interface PullContext {
  readonly store: ModelStore;
  readonly paths: PartialDownloadPaths;
  readonly expectedHex: string | undefined;
  readonly expectedSize: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly fetchImpl: typeof fetch;
  readonly emit: (event: PullProgressEvent) => void;
}

/** Bytes between fsync + metadata checkpoints, bounding what a crash can cost a resume. */
const checkpointBytes = 16 * 1024 * 1024;
const fileChunkBytes = 1 << 20;

/** Downloads `pullRef` (a pull reference string or a parsed one) into `store` and names it. */
export async function pullModel(
  store: ModelStore,
  pullRef: string | PullReference,
  options: PullModelOptions = {},
): Promise<ModelEntry> {
  const reference = typeof pullRef === "string" ? parsePullReference(pullRef) : pullRef;
  const target = options.name === undefined ? reference.defaultName : parseModelName(options.name);
  const expectedHex = getExpectedSha256(reference, options.expectedSha256);
  const signal = options.signal;
  const location = reference.url;
  const sources = listSources(reference, options.mirrors ?? [], expectedHex, options.offline === true);
  const onProgress = options.onProgress;
  const ctx: PullContext = {
    store,
    paths: store.getPartialDownloadPaths(
      expectedHex === undefined ? `url-${sha256Hex(reference.url).slice(0, 32)}` : `sha256-${expectedHex}`,
    ),
    expectedHex,
    expectedSize: reference.kind === "catalog" ? reference.entry.size : undefined,
    signal,
    fetchImpl: options.fetchImpl ?? fetch,
    emit: (event) => onProgress?.(event),
  };

  const nameExisting = async (): Promise<ModelEntry | undefined> => {
    if (expectedHex === undefined) return undefined;
    const digest = parseModelDigest(expectedHex);
    if (!(await store.hasBlob(digest))) return undefined;
    await options.verifyDigest?.(digest);
    const entry = await store.tag(digest, target.ref, { kind: "pull", location });
    ctx.emit({
      phase: "done",
      source: entry.path,
      receivedBytes: entry.size,
      totalBytes: entry.size,
      resumedFromBytes: 0,
    });
    return entry;
  };

  try {
    signal?.throwIfAborted();
    const existing = await nameExisting();
    if (existing !== undefined) return existing;
    if (sources.length === 0) {
      throw new OstromError(
        "download_failed",
        `Cannot pull ${reference.url}: offline and no mirrors are configured.`,
      );
    }
    return await withDownloadLock(ctx.paths.lock, signal, async () => {
      // Another pull of the same file may have finished while we waited for the lock.
      const finished = await nameExisting();
      if (finished !== undefined) return finished;

      const failures: Array<{ source: string; kind: FailureKind; reason: string }> = [];
      for (const source of sources) {
        signal?.throwIfAborted();
        const attempt =
          source.kind === "http"
            ? await downloadOverHttp(ctx, source.url)
            : await copyFromFile(ctx, source.path);
        if (attempt.ok) {
          if (options.verifyDigest !== undefined) {
            try {
              await options.verifyDigest(attempt.digest);
            } catch (error) {
              await removeFileQuietly(ctx.paths.data);
              await removeFileQuietly(ctx.paths.meta);
              throw error;
            }
          }
          await store.addVerifiedBlob(ctx.paths.data, attempt.digest);
          await removeFileQuietly(ctx.paths.meta);
          const entry = await store.tag(attempt.digest, target.ref, { kind: "pull", location });
          ctx.emit({
            phase: "done",
            source: describeSource(source),
            receivedBytes: entry.size,
            totalBytes: entry.size,
            resumedFromBytes: 0,
          });
          return entry;
        }
        failures.push({ source: describeSource(source), kind: attempt.kind, reason: attempt.reason });
      }
      throw await createPullFailure(ctx, reference.url, failures, options.offline === true);
    });
  } catch (error) {
    throw toCancellation(error, signal);
  }
}

function getExpectedSha256(reference: PullReference, option: string | undefined): string | undefined {
  let fromOption: string | undefined;
  if (option !== undefined) {
    try {
      fromOption = getDigestHex(parseModelDigest(option));
    } catch {
      throw invalidParameter("expectedSha256", `"${option}" is not a sha256: expected 64 hex digits.`);
    }
  }
  const fromCatalog = reference.kind === "catalog" ? reference.entry.sha256 : undefined;
  if (fromOption !== undefined && fromCatalog !== undefined && fromOption !== fromCatalog) {
    throw invalidParameter(
      "expectedSha256",
      `The catalog pins ${reference.defaultName.ref} to sha256 ${fromCatalog}, not ${fromOption}.`,
    );
  }
  return fromOption ?? fromCatalog;
}

function listSources(
  reference: PullReference,
  mirrors: readonly string[],
  expectedHex: string | undefined,
  offline: boolean,
): Source[] {
  const relativePaths: string[][] = [];
  if (expectedHex !== undefined) relativePaths.push(["sha256", expectedHex]);
  relativePaths.push([reference.fileName]);
  if (reference.kind === "huggingface") {
    relativePaths.push([reference.owner, reference.repo, ...reference.path.split("/")]);
  }
  const sources: Source[] = [];
  for (const mirror of mirrors) {
    if (/^https?:\/\//i.test(mirror)) {
      let base: URL;
      try {
        base = new URL(mirror);
      } catch {
        throw invalidParameter("mirrors", `Mirror "${mirror}" is not a valid URL.`);
      }
      const prefix = base.href.endsWith("/") ? base.href : `${base.href}/`;
      for (const parts of relativePaths) {
        sources.push({ kind: "http", url: prefix + parts.map((part) => encodeURIComponent(part)).join("/") });
      }
    } else {
      let folder: string;
      try {
        folder = /^file:/i.test(mirror) ? fileURLToPath(mirror) : path.resolve(mirror);
      } catch {
        throw invalidParameter("mirrors", `Mirror "${mirror}" is not a valid file URL.`);
      }
      for (const parts of relativePaths) sources.push({ kind: "file", path: path.join(folder, ...parts) });
    }
  }
  if (!offline) sources.push({ kind: "http", url: reference.url });
  return sources;
}

function describeSource(source: Source): string {
  return source.kind === "http" ? source.url : source.path;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function createPullFailure(
  ctx: PullContext,
  url: string,
  failures: ReadonlyArray<{ source: string; kind: FailureKind; reason: string }>,
  offline: boolean,
): Promise<OstromError> {
  const skipped = offline ? `\n  - ${url}: not tried (offline)` : "";
  const lines = failures.map((failure) => `  - ${failure.source}: ${failure.reason}`).join("\n") + skipped;
  if (failures.some((failure) => failure.kind === "checksum")) {
    return new OstromError(
      "checksum_mismatch",
      `Downloaded ${url} but its sha256 is wrong; nothing was added to the store.\n${lines}`,
    );
  }
  if (failures.some((failure) => failure.kind === "invalid_file")) {
    return new OstromError(
      "invalid_model_file",
      `No source delivered a valid GGUF file for ${url}.\n${lines}`,
    );
  }
  const kept = (await fs.stat(ctx.paths.data).catch(() => undefined))?.size ?? 0;
  const resumable =
    kept > 0 && failures.some((failure) => failure.kind === "truncated")
      ? `\n${kept} bytes were kept; pull again to resume the download.`
      : "";
  return new OstromError("download_failed", `Could not download ${url}:\n${lines}${resumable}`);
}

// ---------------------------------------------------------------------------------------------
// Partial download bookkeeping

async function readPartialMeta(ctx: PullContext): Promise<PartialMeta | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await fs.readFile(ctx.paths.meta, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const optionalString = (key: string): string | undefined =>
    typeof record[key] === "string" ? (record[key] as string) : undefined;
  const bytes = record.bytes;
  const totalBytes = record.totalBytes;
  if (typeof record.url !== "string" || typeof bytes !== "number" || !Number.isSafeInteger(bytes))
    return undefined;
  return {
    url: record.url,
    etag: optionalString("etag"),
    lastModified: optionalString("lastModified"),
    expectedSha256: optionalString("expectedSha256"),
    bytes,
    totalBytes: typeof totalBytes === "number" && Number.isSafeInteger(totalBytes) ? totalBytes : undefined,
  };
}

async function writePartialMeta(ctx: PullContext, meta: PartialMeta): Promise<void> {
  const temp = ctx.store.createTempPath("partial-meta");
  try {
    await fs.writeFile(temp, JSON.stringify(meta), { flag: "wx" });
    await fs.rename(temp, ctx.paths.meta);
  } finally {
    await removeFileQuietly(temp);
  }
}

async function discardPartial(ctx: PullContext): Promise<void> {
  await removeFileQuietly(ctx.paths.meta);
  await removeFileQuietly(ctx.paths.data);
}

/** A strong ETag or else Last-Modified: what If-Range may carry (weak ETags are not allowed there). */
function getRangeValidator(meta: PartialMeta): string | undefined {
  if (meta.etag !== undefined && !meta.etag.startsWith("W/")) return meta.etag;
  return meta.lastModified;
}

/** How many bytes of the partial file can be kept, or 0 to start afresh. */
async function getResumableBytes(
  ctx: PullContext,
): Promise<{ bytes: number; meta: PartialMeta | undefined }> {
  const stat = await fs.stat(ctx.paths.data).catch(() => undefined);
  const meta = await readPartialMeta(ctx);
  if (stat === undefined || meta === undefined || stat.size === 0) return { bytes: 0, meta: undefined };
  if (meta.expectedSha256 !== ctx.expectedHex) return { bytes: 0, meta: undefined };
  // Without a validator or a known hash, resumed bytes could silently splice two different files.
  if (getRangeValidator(meta) === undefined && ctx.expectedHex === undefined)
    return { bytes: 0, meta: undefined };
  // Bytes past the last checkpoint may not have reached the disk before a crash.
  const bytes = Math.min(stat.size, meta.bytes);
  if (meta.totalBytes !== undefined && bytes > meta.totalBytes) return { bytes: 0, meta: undefined };
  return { bytes, meta };
}

/** Hashes the first `length` bytes of `file` into `hash` (the part of a resumed download we keep). */
async function hashPrefix(
  file: string,
  length: number,
  hash: Hash,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (length === 0) return;
  const stream = createReadStream(file, { start: 0, end: length - 1, highWaterMark: fileChunkBytes });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    hash.update(chunk);
  }
}

/** Opens the partial file for writing from `start`, dropping anything after it. */
async function openPartialAt(ctx: PullContext, start: number): Promise<FileHandle> {
  if (start === 0) return fs.open(ctx.paths.data, "w");
  const handle = await fs.open(ctx.paths.data, "r+");
  await handle.truncate(start);
  return handle;
}

async function verifyDownload(
  ctx: PullContext,
  hash: Hash,
  source: string,
  size: number,
  resumedFromBytes: number,
): Promise<Attempt> {
  ctx.emit({ phase: "verifying", source, receivedBytes: size, totalBytes: size, resumedFromBytes });
  const hex = hash.digest("hex");
  if (ctx.expectedHex !== undefined && hex !== ctx.expectedHex) {
    await discardPartial(ctx);
    return { ok: false, kind: "checksum", reason: `sha256 is ${hex}, expected ${ctx.expectedHex}` };
  }
  if (ctx.expectedSize !== undefined && size !== ctx.expectedSize) {
    await discardPartial(ctx);
    return { ok: false, kind: "invalid_file", reason: `${size} bytes, expected ${ctx.expectedSize}` };
  }
  try {
    await readGgufInfo(ctx.paths.data, { displayName: source, signal: ctx.signal });
  } catch (error) {
    if (!isOstromError(error, "invalid_model_file")) throw error;
    await discardPartial(ctx);
    return { ok: false, kind: "invalid_file", reason: `not a valid GGUF file: ${error.message}` };
  }
  return { ok: true, digest: parseModelDigest(hex) };
}

// ---------------------------------------------------------------------------------------------
// Sources

async function copyFromFile(ctx: PullContext, file: string): Promise<Attempt> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (stat === undefined || !stat.isFile()) return { ok: false, kind: "not_found", reason: "no such file" };
  ctx.emit({
    phase: "connecting",
    source: file,
    receivedBytes: 0,
    totalBytes: stat.size,
    resumedFromBytes: 0,
  });
  // Local copies are cheap, so they always start afresh rather than resume.
  const hash = createHash("sha256");
  const out = await openPartialAt(ctx, 0);
  await writePartialMeta(ctx, {
    url: file,
    etag: undefined,
    lastModified: undefined,
    expectedSha256: ctx.expectedHex,
    bytes: 0,
    totalBytes: stat.size,
  });
  let received = 0;
  try {
    for await (const chunk of createReadStream(file, {
      highWaterMark: fileChunkBytes,
    }) as AsyncIterable<Buffer>) {
      ctx.signal?.throwIfAborted();
      await writeFully(out, chunk, received);
      hash.update(chunk);
      received += chunk.length;
      ctx.emit({
        phase: "downloading",
        source: file,
        receivedBytes: received,
        totalBytes: stat.size,
        resumedFromBytes: 0,
      });
    }
    await out.sync();
  } catch (error) {
    if (ctx.signal?.aborted === true) throw error;
    return { ok: false, kind: "unavailable", reason: `cannot read: ${describeError(error)}` };
  } finally {
    await out.close();
  }
  return verifyDownload(ctx, hash, file, received, 0);
}

/** Parses `Content-Range: bytes <first>-<last>/<total|*>`. */
function parseContentRange(header: string | null): { first: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? "");
  if (match === null) return undefined;
  return { first: Number(match[1]), total: match[3] === "*" ? undefined : Number(match[3]) };
}

function parseContentLength(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = isErrnoException(cause) && cause.code !== undefined ? ` (${cause.code})` : "";
    return `${error.message}: ${cause.message}${code}`;
  }
  return error.message;
}

async function downloadOverHttp(ctx: PullContext, url: string): Promise<Attempt> {
  // One fresh restart is allowed when a resume turns out unusable (416, wrong range, bad hash).
  let mayRestart = true;
  for (;;) {
    const { bytes: resumeFrom, meta } = await getResumableBytes(ctx);
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (resumeFrom > 0 && meta !== undefined) {
      headers.range = `bytes=${resumeFrom}-`;
      const validator = getRangeValidator(meta);
      if (validator !== undefined) headers["if-range"] = validator;
    }
    ctx.emit({ phase: "connecting", source: url, receivedBytes: resumeFrom, resumedFromBytes: resumeFrom });

    let response: Response;
    try {
      response = await ctx.fetchImpl(url, { headers, signal: ctx.signal, redirect: "follow" });
    } catch (error) {
      if (ctx.signal?.aborted === true) throw error;
      return { ok: false, kind: "unavailable", reason: describeError(error) };
    }

    let start: number;
    let total: number | undefined;
    if (response.status === 206 && resumeFrom > 0) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (range === undefined || range.first !== resumeFrom) {
        await response.body?.cancel().catch(() => undefined);
        await discardPartial(ctx);
        if (mayRestart) {
          mayRestart = false;
          continue;
        }
        return {
          ok: false,
          kind: "unavailable",
          reason: "the server answered a range request with the wrong range",
        };
      }
      start = resumeFrom;
      total = range.total;
    } else if (response.status === 200) {
      // Either a fresh download, or the server ignored Range / the file changed (If-Range): restart.
      start = 0;
      total = parseContentLength(response.headers.get("content-length"));
    } else {
      await response.body?.cancel().catch(() => undefined);
      if (response.status === 416 && resumeFrom > 0) {
        await discardPartial(ctx);
        if (mayRestart) {
          mayRestart = false;
          continue;
        }
      }
      const kind = response.status === 404 || response.status === 410 ? "not_found" : "unavailable";
      return {
        ok: false,
        kind,
        reason: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
      };
    }
    total ??= ctx.expectedSize;

    if (response.body === null) return { ok: false, kind: "unavailable", reason: "empty response" };
    const attempt = await receiveBody(ctx, url, response, start, total, meta);
    if (!attempt.ok && attempt.kind === "checksum" && start > 0 && mayRestart) {
      // The kept bytes may have been the part that was wrong: try once more from zero.
      mayRestart = false;
      continue;
    }
    return attempt;
  }
}

async function receiveBody(
  ctx: PullContext,
  url: string,
  response: Response,
  start: number,
  total: number | undefined,
  previous: PartialMeta | undefined,
): Promise<Attempt> {
  const body = response.body;
  if (body === null) return { ok: false, kind: "unavailable", reason: "empty response" };
  const meta: PartialMeta = {
    url,
    // On a 206 the validators must stay those the kept bytes were fetched under.
    etag: response.headers.get("etag") ?? (start > 0 ? previous?.etag : undefined),
    lastModified: response.headers.get("last-modified") ?? (start > 0 ? previous?.lastModified : undefined),
    expectedSha256: ctx.expectedHex,
    bytes: start,
    totalBytes: total,
  };
  const hash = createHash("sha256");
  const reader = body.getReader();
  const out = await openPartialAt(ctx, start);
  let received = start;
  let lastCheckpoint = start;
  let readError: unknown;
  const checkpoint = async (): Promise<void> => {
    await out.sync();
    meta.bytes = received;
    await writePartialMeta(ctx, meta);
    lastCheckpoint = received;
  };
  try {
    await writePartialMeta(ctx, meta);
    await hashPrefix(ctx.paths.data, start, hash, ctx.signal);
    ctx.emit({
      phase: "downloading",
      source: url,
      receivedBytes: received,
      totalBytes: total,
      resumedFromBytes: start,
    });
    for (;;) {
      let chunk: Uint8Array;
      try {
        const result = await reader.read();
        if (result.done) break;
        chunk = result.value;
      } catch (error) {
        readError = error;
        break;
      }
      if (total !== undefined && received + chunk.length > total) {
        readError = new Error(`the server sent more than the announced ${total} bytes`);
        break;
      }
      await writeFully(out, chunk, received);
      hash.update(chunk);
      received += chunk.length;
      if (received - lastCheckpoint >= checkpointBytes) await checkpoint();
      ctx.emit({
        phase: "downloading",
        source: url,
        receivedBytes: received,
        totalBytes: total,
        resumedFromBytes: start,
      });
    }
    await checkpoint();
  } catch (error) {
    await checkpoint().catch(() => undefined);
    throw error;
  } finally {
    await reader.cancel().catch(() => undefined);
    await out.close();
  }
  if (readError !== undefined && ctx.signal?.aborted === true) throw readError;
  if (readError !== undefined || (total !== undefined && received < total)) {
    const cause = readError === undefined ? "connection closed early" : describeError(readError);
    const of = total === undefined ? "" : ` of ${total}`;
    return {
      ok: false,
      kind: "truncated",
      reason: `transfer interrupted after ${received}${of} bytes (${cause})`,
    };
  }
  return verifyDownload(ctx, hash, url, received, start);
}

// ---------------------------------------------------------------------------------------------
// Locking: one download per partial file, across this process and others.

const locksInThisProcess = new Map<string, Promise<void>>();

function waitForSettled(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    void promise.finally(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

async function acquireLockFile(lock: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if (!isErrnoException(error) || error.code !== "EEXIST" || attempt > 0) throw error;
    }
    const owner = Number.parseInt(await fs.readFile(lock, "utf8").catch(() => ""), 10);
    // Our own pid here is a leftover of an earlier process that had the same id.
    if (owner !== process.pid && isProcessAlive(owner)) {
      throw new OstromError(
        "download_failed",
        `This file is already being downloaded by process ${owner}; try again when it has finished.`,
      );
    }
    await removeFileQuietly(lock);
  }
}

async function withDownloadLock<T>(
  lock: string,
  signal: AbortSignal | undefined,
  task: () => Promise<T>,
): Promise<T> {
  for (;;) {
    const running = locksInThisProcess.get(lock);
    if (running === undefined) break;
    await waitForSettled(running, signal);
  }
  let release = (): void => undefined;
  locksInThisProcess.set(
    lock,
    new Promise<void>((resolve) => {
      release = resolve;
    }),
  );
  try {
    await acquireLockFile(lock);
    try {
      return await task();
    } finally {
      await removeFileQuietly(lock);
    }
  } finally {
    locksInThisProcess.delete(lock);
    release();
  }
}
