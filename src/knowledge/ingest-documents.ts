// Ingestion: files and folders (or uploaded content) into a knowledge base. Each file is checked
// against its size limit, checksummed, parsed, chunked, embedded (when an embedder is given) and
// written in transactions of many documents. An unchanged file is a no-op; a changed one replaces
// its chunks atomically; a file that fails is reported by name with a stable error code and the
// batch goes on. HTTP-free; the CLI and the server call it.
import { createHash } from "node:crypto";
import { open, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { type ErrorCode, isOstromError, OstromError } from "../errors.ts";
import { type ChunkOptions, chunkDocument, formatChunkLocation } from "./chunk-document.ts";
import type { Embedder } from "./embedder.ts";
import type { KnowledgeBase, KnowledgeStore, NewDocument, StoredVersion } from "./knowledge-store.ts";
import { parseLicense } from "./licenses.ts";
import { detectFormat, parseFileContent } from "./parse-file.ts";
import type { ParsedDocument } from "./parsed-document.ts";
import { readBeirJsonl } from "./parsers/read-beir-jsonl.ts";

export interface IngestOptions {
  /** SPDX expression for every document of this ingestion; default `unspecified`. */
  license?: string;
  /** Credit line shown with every result from these documents; default "". */
  attribution?: string;
  /** Largest file accepted (for JSONL corpora: largest record). Default 32 MiB. */
  maxFileBytes?: number;
  chunking?: ChunkOptions;
  /** Computes dense vectors for the chunks; without one, only lexical search is available. */
  embedder?: Embedder;
  /** Texts per embedder call. Default 32. */
  embeddingBatchSize?: number;
  /** Documents written per transaction. Default 512. */
  writeBatchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: IngestProgress) => void;
}

export interface IngestProgress {
  /** The file being ingested and its place in the batch. */
  file: string;
  fileIndex: number;
  fileCount: number;
  /** Documents of this file done so far (more than one for JSONL corpora). */
  documents: number;
}

export type FileStatus = "added" | "updated" | "unchanged" | "failed";

export interface FileOutcome {
  path: string;
  status: FileStatus;
  documents: { added: number; updated: number; unchanged: number; removed: number };
  chunks: number;
  error?: { code: ErrorCode; message: string };
  /** Records of a JSONL corpus that were skipped, by line. */
  warnings: string[];
}

export interface IngestReport {
  files: FileOutcome[];
  failed: number;
  documents: { added: number; updated: number; unchanged: number; removed: number };
  chunks: number;
  seconds: number;
}

const defaultMaxFileBytes = 32 * 1024 * 1024;

/** Ingests files and folders (recursively, skipping hidden entries and unsupported files in folders). */
export async function ingestPaths(
  store: KnowledgeStore,
  knowledgeBaseName: string,
  paths: readonly string[],
  options: IngestOptions = {},
): Promise<IngestReport> {
  const started = performance.now();
  const knowledgeBase = store.getKnowledgeBase(knowledgeBaseName);
  const license = parseLicense(options.license);
  const files: string[] = [];
  const outcomes: FileOutcome[] = [];
  for (const given of paths) {
    const absolute = path.resolve(given);
    try {
      const info = await stat(absolute);
      if (info.isDirectory()) files.push(...(await listFolder(absolute)));
      else files.push(absolute);
    } catch (error) {
      outcomes.push(failure(absolute, "document_unparseable", `${given}: ${(error as Error).message}`));
    }
  }
  const writer = new DocumentWriter(store, knowledgeBase, options);
  for (const [index, file] of files.entries()) {
    options.signal?.throwIfAborted();
    options.onProgress?.({ file, fileIndex: index, fileCount: files.length, documents: 0 });
    outcomes.push(
      await ingestFile(writer, file, { ...options, license }, (documents) =>
        options.onProgress?.({ file, fileIndex: index, fileCount: files.length, documents }),
      ),
    );
  }
  await writer.flush();
  return summarize(outcomes, started);
}

/** Ingests one uploaded file whose content is already in memory; `source` names it (path or URL). */
export async function ingestContent(
  store: KnowledgeStore,
  knowledgeBaseName: string,
  upload: { source: string; fileName: string; content: Buffer },
  options: IngestOptions = {},
): Promise<FileOutcome> {
  const knowledgeBase = store.getKnowledgeBase(knowledgeBaseName);
  const writer = new DocumentWriter(store, knowledgeBase, options);
  const outcome = await ingestWholeFile(writer, upload.source, upload.fileName, upload.content, {
    ...options,
    license: parseLicense(options.license),
  });
  await writer.flush();
  return outcome;
}

async function listFolder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter(
      (entry) =>
        entry.isFile() &&
        !path
          .relative(folder, path.join(entry.parentPath, entry.name))
          .split(path.sep)
          .some((part) => part.startsWith(".")) &&
        detectFormat(entry.name) !== undefined,
    )
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

async function ingestFile(
  writer: DocumentWriter,
  file: string,
  options: IngestOptions & { license: string },
  onDocuments: (count: number) => void,
): Promise<FileOutcome> {
  const maxBytes = options.maxFileBytes ?? defaultMaxFileBytes;
  try {
    const head = await readHead(file);
    const format = detectFormat(file, head);
    if (format === undefined)
      throw new OstromError(
        "document_unsupported",
        `${file}: unsupported file type; Ostrom ingests .txt, .md, .html, .pdf, .docx and BEIR .jsonl files.`,
      );
    if (format === "beir-jsonl") return await ingestJsonl(writer, file, maxBytes, options, onDocuments);
    const { size } = await stat(file);
    if (size > maxBytes)
      throw new OstromError(
        "document_too_large",
        `${file}: ${size} bytes is more than the limit of ${maxBytes}.`,
      );
    return await ingestWholeFile(writer, file, path.basename(file), await readFile(file), options);
  } catch (error) {
    if (isOstromError(error)) return failure(file, error.code, error.message);
    if (options.signal?.aborted) throw error;
    return failure(file, "document_unparseable", `${file}: ${(error as Error).message}`);
  }
}

async function ingestWholeFile(
  writer: DocumentWriter,
  source: string,
  fileName: string,
  content: Buffer,
  options: IngestOptions & { license: string },
): Promise<FileOutcome> {
  try {
    const maxBytes = options.maxFileBytes ?? defaultMaxFileBytes;
    if (content.length > maxBytes)
      throw new OstromError(
        "document_too_large",
        `${fileName}: ${content.length} bytes is more than the limit of ${maxBytes}.`,
      );
    const format = detectFormat(fileName, content.subarray(0, 8));
    if (format === undefined || format === "beir-jsonl")
      throw new OstromError("document_unsupported", `${fileName}: unsupported file type.`);
    const checksum = createHash("sha256").update(content).digest("hex");
    const outcome = emptyOutcome(source);
    const previous = writer.store.getStoredVersions(writer.knowledgeBase.id, source).get("");
    if (isUnchanged(previous, checksum, options)) {
      outcome.status = "unchanged";
      outcome.documents.unchanged = 1;
      return outcome;
    }
    const parsed = withHeadingsAsText(parseFileContent(format, content, fileName));
    if (parsed.blocks.length === 0)
      throw new OstromError("document_unparseable", `${fileName}: no text found.`);
    const fallbackTitle = path.basename(fileName, path.extname(fileName));
    outcome.chunks = await writer.add(parsed, {
      source,
      checksum,
      bytes: content.length,
      fallbackTitle,
      options,
    });
    outcome.status = previous === undefined ? "added" : "updated";
    outcome.documents[outcome.status] = 1;
    return outcome;
  } catch (error) {
    if (isOstromError(error)) return failure(source, error.code, error.message);
    if (options.signal?.aborted) throw error;
    return failure(source, "document_unparseable", `${fileName}: ${(error as Error).message}`);
  }
}

async function ingestJsonl(
  writer: DocumentWriter,
  file: string,
  maxRecordBytes: number,
  options: IngestOptions & { license: string },
  onDocuments: (count: number) => void,
): Promise<FileOutcome> {
  const outcome = emptyOutcome(file);
  const previous = writer.store.getStoredVersions(writer.knowledgeBase.id, file);
  const seen = new Set<string>();
  let count = 0;
  for await (const record of readBeirJsonl(file, maxRecordBytes, options.signal)) {
    if ("error" in record) {
      outcome.warnings.push(`line ${record.line}: ${record.error}`);
      continue;
    }
    const { document } = record;
    if (seen.has(document.item)) {
      outcome.warnings.push(`duplicate _id ${document.item}: kept the first`);
      continue;
    }
    seen.add(document.item);
    const old = previous.get(document.item);
    const checksum = record.checksum;
    if (isUnchanged(old, checksum, options)) outcome.documents.unchanged += 1;
    else {
      outcome.chunks += await writer.add(document, {
        source: file,
        checksum,
        bytes: record.bytes,
        fallbackTitle: document.item,
        options,
      });
      outcome.documents[old === undefined ? "added" : "updated"] += 1;
    }
    count += 1;
    if (count % 1000 === 0) onDocuments(count);
  }
  await writer.flush();
  outcome.documents.removed = writer.store.deleteMissingItems(writer.knowledgeBase.id, file, seen);
  onDocuments(count);
  if (seen.size === 0) {
    return failure(
      file,
      "document_unparseable",
      `${file}: no valid JSONL record (${outcome.warnings[0] ?? "empty"}).`,
    );
  }
  const { added, updated, removed } = outcome.documents;
  outcome.status = previous.size === 0 ? "added" : added + updated + removed > 0 ? "updated" : "unchanged";
  return outcome;
}

/**
 * A document of headings only (an outline, a stub page) has no paragraph for the chunker to keep:
 * its headings become its text, so it is still found by them.
 */
function withHeadingsAsText(parsed: ParsedDocument): ParsedDocument {
  if (parsed.blocks.some((block) => block.kind === "paragraph")) return parsed;
  return {
    ...parsed,
    blocks: parsed.blocks.flatMap((block) =>
      block.text.trim() === "" ? [] : [{ kind: "paragraph" as const, text: block.text, page: block.page }],
    ),
  };
}

/** Same content under the same terms: nothing to do. New terms alone still rewrite the document. */
function isUnchanged(
  stored: StoredVersion | undefined,
  checksum: string,
  options: IngestOptions & { license: string },
): boolean {
  return (
    stored !== undefined &&
    stored.checksum === checksum &&
    stored.license === options.license &&
    stored.attribution === (options.attribution?.trim() ?? "")
  );
}

/** Buffers documents, embeds their chunks in batches and writes them in large transactions. */
class DocumentWriter {
  private pending: NewDocument[] = [];

  constructor(
    readonly store: KnowledgeStore,
    readonly knowledgeBase: KnowledgeBase,
    private readonly options: IngestOptions,
  ) {}

  /** Chunks a document and queues it; returns its number of chunks. */
  async add(
    parsed: ParsedDocument,
    meta: {
      source: string;
      checksum: string;
      bytes: number;
      fallbackTitle: string;
      options: IngestOptions & { license: string };
    },
  ): Promise<number> {
    const title = parsed.title || parsed.item || meta.fallbackTitle;
    const chunks = chunkDocument(parsed.blocks, this.options.chunking);
    this.pending.push({
      source: meta.source,
      item: parsed.item,
      title,
      format: parsed.format,
      checksum: meta.checksum,
      bytes: meta.bytes,
      license: meta.options.license,
      attribution: meta.options.attribution?.trim() ?? "",
      chunks: chunks.map((chunk) => ({
        location: formatChunkLocation(chunk),
        text: chunk.text,
        heading: [parsed.title, ...chunk.headings].filter(Boolean).join(" "),
        tokenEstimate: chunk.tokenEstimate,
      })),
    });
    if (this.pending.length >= (this.options.writeBatchSize ?? 512)) await this.flush();
    return chunks.length;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const documents = this.pending;
    this.pending = [];
    if (this.options.embedder) await this.embed(documents, this.options.embedder);
    this.store.writeDocuments(this.knowledgeBase.id, documents);
  }

  private async embed(documents: NewDocument[], embedder: Embedder): Promise<void> {
    const chunks = documents.flatMap((document) => document.chunks);
    const batchSize = Math.max(1, this.options.embeddingBatchSize ?? 32);
    for (let start = 0; start < chunks.length; start += batchSize) {
      const batch = chunks.slice(start, start + batchSize);
      const vectors = await embedder.embed(
        batch.map((chunk) => (chunk.heading ? `${chunk.heading}\n\n${chunk.text}` : chunk.text)),
        this.options.signal,
      );
      if (vectors.length !== batch.length)
        throw new OstromError(
          "internal_error",
          `the embedder returned ${vectors.length} vectors for ${batch.length} texts`,
        );
      batch.forEach((chunk, index) => {
        chunk.vector = normalizeVector(vectors[index] ?? []);
      });
    }
    const dimensions = chunks[0]?.vector?.length;
    if (dimensions !== undefined)
      this.store.setEmbeddingModel(this.knowledgeBase.id, embedder.model, dimensions);
  }
}

/** Unit length, so that a dot product is the cosine similarity. */
export function normalizeVector(values: readonly number[]): Float32Array {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm > 0)
    for (let index = 0; index < vector.length; index += 1) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(8);
    const { bytesRead } = await handle.read(buffer, 0, 8, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function emptyOutcome(file: string): FileOutcome {
  return {
    path: file,
    status: "unchanged",
    documents: { added: 0, updated: 0, unchanged: 0, removed: 0 },
    chunks: 0,
    warnings: [],
  };
}

function failure(file: string, code: ErrorCode, message: string): FileOutcome {
  return { ...emptyOutcome(file), status: "failed", error: { code, message } };
}

function summarize(outcomes: FileOutcome[], started: number): IngestReport {
  const documents = { added: 0, updated: 0, unchanged: 0, removed: 0 };
  let chunks = 0;
  for (const outcome of outcomes) {
    documents.added += outcome.documents.added;
    documents.updated += outcome.documents.updated;
    documents.unchanged += outcome.documents.unchanged;
    documents.removed += outcome.documents.removed;
    chunks += outcome.chunks;
  }
  return {
    files: outcomes,
    failed: outcomes.filter((outcome) => outcome.status === "failed").length,
    documents,
    chunks,
    seconds: (performance.now() - started) / 1000,
  };
}
