// Knowledge bases, their documents and chunks in the SQL database: creation and deletion, the
// atomic write path used by ingestion, and the raw retrieval primitives (BM25 over the knowledge
// base's FTS5 table, stored vectors, chunk details) that search builds on. HTTP- and engine-free.
import { OstromError } from "../errors.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import {
  analyzeForIndex,
  defaultTextAnalysis,
  ftsTokenizer,
  type TextAnalysisSettings,
} from "./analyze-text.ts";
import { knowledgeMigrations } from "./knowledge-migrations.ts";
import type { DocumentFormat } from "./parsed-document.ts";

export type KnowledgeBaseId = number & { __knowledgeBaseId: never };
export type DocumentId = number & { __documentId: never };
export type ChunkId = number & { __chunkId: never };

export interface KnowledgeBase {
  id: KnowledgeBaseId;
  name: string;
  description: string;
  createdAt: string;
  settings: TextAnalysisSettings;
  /** The embedding model of its vectors, once a document was ingested with one. */
  embeddingModel: string | null;
  embeddingDimensions: number | null;
  /** The model that answers questions grounded in it; null: the server's default chat model. */
  chatModel: string | null;
  documentCount: number;
  chunkCount: number;
  generation: number;
}

export interface KnowledgeDocument {
  id: DocumentId;
  source: string;
  item: string;
  title: string;
  format: DocumentFormat;
  checksum: string;
  bytes: number;
  license: string;
  attribution: string;
  ingestedAt: string;
  chunkCount: number;
}

export interface NewChunk {
  location: string;
  text: string;
  /** Indexed in the FTS title column beside the body: document title and section headings. */
  heading: string;
  tokenEstimate: number;
  vector?: Float32Array;
}

export type StoredVersion = Pick<KnowledgeDocument, "checksum" | "license" | "attribution">;

export type NewDocument = Omit<KnowledgeDocument, "id" | "ingestedAt" | "chunkCount"> & {
  chunks: NewChunk[];
};

/** A chunk with everything a caller shows or cites. */
export interface ChunkDetails {
  chunkId: ChunkId;
  documentId: DocumentId;
  ordinal: number;
  title: string;
  source: string;
  item: string;
  location: string;
  text: string;
  license: string;
  attribution: string;
}

export interface CreateKnowledgeBaseOptions {
  description?: string;
  /** Model reference that answers questions grounded in it. Default: the server's default chat model. */
  chatModel?: string;
  /**
   * Embedding model reference its chunks are to be embedded with (dense and hybrid search). Default:
   * none until a document is ingested with an embedder.
   */
  embeddingModel?: string;
  /** Text analysis of its lexical index; fixed for the knowledge base's life. Default `defaultTextAnalysis`. */
  settings?: Partial<TextAnalysisSettings>;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface KnowledgeBaseRow {
  id: number;
  name: string;
  description: string;
  settings: string;
  embedding_model: string | null;
  embedding_dimensions: number | null;
  chat_model: string | null;
  created_at: string;
  generation: number;
  document_count: number;
  chunk_count: number;
}

interface DocumentRow {
  id: number;
  source: string;
  item: string;
  title: string;
  format: string;
  checksum: string;
  bytes: number;
  license: string;
  attribution: string;
  ingested_at: string;
  chunk_count: number;
}

const knowledgeBaseColumns = `kb.id, kb.name, kb.description, kb.settings, kb.embedding_model,
  kb.embedding_dimensions, kb.chat_model, kb.created_at, kb.generation,
  (SELECT count(*) FROM kb_documents d WHERE d.kb_id = kb.id) AS document_count,
  (SELECT count(*) FROM kb_chunks c WHERE c.kb_id = kb.id) AS chunk_count`;

export class KnowledgeStore {
  /** Opens the store on a database, applying its migrations. */
  static open(database: SqlDatabase): KnowledgeStore {
    database.migrate("knowledge", knowledgeMigrations);
    return new KnowledgeStore(database);
  }

  private constructor(readonly database: SqlDatabase) {}

  createKnowledgeBase(name: string, options: CreateKnowledgeBaseOptions = {}): KnowledgeBase {
    if (!namePattern.test(name))
      throw new OstromError(
        "invalid_parameter",
        `Invalid knowledge base name "${name}": use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
        { param: "name" },
      );
    const settings: TextAnalysisSettings = { ...defaultTextAnalysis, ...options.settings };
    this.database.transaction(() => {
      if (this.findKnowledgeBase(name))
        throw new OstromError("knowledge_base_exists", `A knowledge base named "${name}" already exists.`);
      const { lastInsertRowid: id } = this.database
        .prepare(
          `INSERT INTO knowledge_bases (name, description, settings, chat_model, embedding_model, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          name,
          options.description ?? "",
          JSON.stringify(settings),
          options.chatModel || null,
          options.embeddingModel || null,
          new Date().toISOString(),
        );
      this.database.exec(
        `CREATE VIRTUAL TABLE ${ftsTable(id)} USING fts5(heading, body, content='', contentless_delete=1, tokenize='${ftsTokenizer}');
         CREATE VIRTUAL TABLE ${ftsTable(id)}_vocab USING fts5vocab(${ftsTable(id)}, 'row');`,
      );
    });
    return this.getKnowledgeBase(name);
  }

  listKnowledgeBases(): KnowledgeBase[] {
    return this.database
      .prepare<KnowledgeBaseRow>(`SELECT ${knowledgeBaseColumns} FROM knowledge_bases kb ORDER BY kb.name`)
      .all()
      .map(toKnowledgeBase);
  }

  findKnowledgeBase(name: string): KnowledgeBase | undefined {
    const row = this.database
      .prepare<KnowledgeBaseRow>(`SELECT ${knowledgeBaseColumns} FROM knowledge_bases kb WHERE kb.name = ?`)
      .get(name);
    return row && toKnowledgeBase(row);
  }

  getKnowledgeBase(name: string): KnowledgeBase {
    const found = this.findKnowledgeBase(name);
    if (!found) throw new OstromError("knowledge_base_not_found", `No knowledge base named "${name}".`);
    return found;
  }

  /** Deletes the knowledge base with all its documents, chunks and index. */
  deleteKnowledgeBase(name: string): void {
    const { id } = this.getKnowledgeBase(name);
    this.database.transaction(() => {
      this.database.exec(`DROP TABLE IF EXISTS ${ftsTable(id)}_vocab; DROP TABLE IF EXISTS ${ftsTable(id)}`);
      this.database.prepare("DELETE FROM knowledge_bases WHERE id = ?").run(id);
    });
  }

  listDocuments(knowledgeBase: KnowledgeBaseId, source?: string): KnowledgeDocument[] {
    const rows =
      source === undefined
        ? this.database
            .prepare<DocumentRow>("SELECT * FROM kb_documents WHERE kb_id = ? ORDER BY source, item")
            .all(knowledgeBase)
        : this.database
            .prepare<DocumentRow>("SELECT * FROM kb_documents WHERE kb_id = ? AND source = ? ORDER BY item")
            .all(knowledgeBase, source);
    return rows.map(toDocument);
  }

  getDocument(knowledgeBase: KnowledgeBaseId, id: number): KnowledgeDocument {
    const row = this.database
      .prepare<DocumentRow>("SELECT * FROM kb_documents WHERE kb_id = ? AND id = ?")
      .get(knowledgeBase, id);
    if (!row) throw new OstromError("document_not_found", `No document ${id} in this knowledge base.`);
    return toDocument(row);
  }

  /** Checksum and terms of every document of one source, by item: what re-ingestion compares. */
  getStoredVersions(knowledgeBase: KnowledgeBaseId, source: string): Map<string, StoredVersion> {
    const rows = this.database
      .prepare<StoredVersion & { item: string }>(
        "SELECT item, checksum, license, attribution FROM kb_documents WHERE kb_id = ? AND source = ?",
      )
      .all(knowledgeBase, source);
    return new Map(rows.map(({ item, ...version }) => [item, version]));
  }

  /**
   * Adds or replaces documents (matched on source and item) with their chunks, all in one
   * transaction: readers see each document either entirely old or entirely new.
   */
  writeDocuments(knowledgeBase: KnowledgeBaseId, documents: readonly NewDocument[]): void {
    if (documents.length === 0) return;
    const kb = this.getKnowledgeBaseById(knowledgeBase);
    const fts = ftsTable(knowledgeBase);
    const now = new Date().toISOString();
    const findDocument = this.database.prepare<{ id: number }>(
      "SELECT id FROM kb_documents WHERE kb_id = ? AND source = ? AND item = ?",
    );
    const insertDocument = this.database.prepare(
      `INSERT INTO kb_documents (kb_id, source, item, title, format, checksum, bytes, license, attribution, ingested_at, chunk_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const updateDocument = this.database.prepare(
      `UPDATE kb_documents SET title = ?, format = ?, checksum = ?, bytes = ?, license = ?, attribution = ?,
       ingested_at = ?, chunk_count = ? WHERE id = ?`,
    );
    const insertChunk = this.database.prepare(
      `INSERT INTO kb_chunks (kb_id, document_id, ordinal, location, text, token_estimate, vector)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertFts = this.database.prepare(`INSERT INTO ${fts} (rowid, heading, body) VALUES (?, ?, ?)`);
    this.database.transaction(() => {
      let dimensions = kb.embeddingDimensions;
      for (const document of documents) {
        const existing = findDocument.get(knowledgeBase, document.source, document.item);
        let documentId: number;
        if (existing) {
          this.deleteChunks(knowledgeBase, existing.id);
          updateDocument.run(
            document.title,
            document.format,
            document.checksum,
            document.bytes,
            document.license,
            document.attribution,
            now,
            document.chunks.length,
            existing.id,
          );
          documentId = existing.id;
        } else {
          documentId = insertDocument.run(
            knowledgeBase,
            document.source,
            document.item,
            document.title,
            document.format,
            document.checksum,
            document.bytes,
            document.license,
            document.attribution,
            now,
            document.chunks.length,
          ).lastInsertRowid;
        }
        document.chunks.forEach((chunk, ordinal) => {
          let vector: Uint8Array | null = null;
          if (chunk.vector) {
            if (dimensions === null) dimensions = chunk.vector.length;
            if (chunk.vector.length !== dimensions)
              throw new OstromError(
                "invalid_parameter",
                `Embedding has ${chunk.vector.length} dimensions; this knowledge base's vectors have ${dimensions}.`,
              );
            vector = new Uint8Array(chunk.vector.buffer, chunk.vector.byteOffset, chunk.vector.byteLength);
          }
          const chunkId = insertChunk.run(
            knowledgeBase,
            documentId,
            ordinal,
            chunk.location,
            chunk.text,
            chunk.tokenEstimate,
            vector,
          ).lastInsertRowid;
          insertFts.run(
            chunkId,
            analyzeForIndex(chunk.heading, kb.settings),
            analyzeForIndex(chunk.text, kb.settings),
          );
        });
      }
      this.touch(knowledgeBase);
    });
  }

  /** Records the embedding model of a knowledge base; refuses to mix models. */
  setEmbeddingModel(knowledgeBase: KnowledgeBaseId, model: string, dimensions: number): void {
    const kb = this.getKnowledgeBaseById(knowledgeBase);
    if (
      kb.embeddingModel !== null &&
      (kb.embeddingModel !== model ||
        (kb.embeddingDimensions !== null && kb.embeddingDimensions !== dimensions))
    )
      throw new OstromError(
        "invalid_parameter",
        `Knowledge base "${kb.name}" holds vectors of ${kb.embeddingModel}; it cannot mix them with ${model}.`,
        { param: "embedding_model" },
      );
    this.database
      .prepare("UPDATE knowledge_bases SET embedding_model = ?, embedding_dimensions = ? WHERE id = ?")
      .run(model, dimensions, knowledgeBase);
  }

  /** Deletes one document and all its chunks. */
  deleteDocument(knowledgeBase: KnowledgeBaseId, id: number): void {
    this.getDocument(knowledgeBase, id);
    this.database.transaction(() => {
      this.deleteChunks(knowledgeBase, id);
      this.database.prepare("DELETE FROM kb_documents WHERE id = ?").run(id);
      this.touch(knowledgeBase);
    });
  }

  /** Deletes the documents of a source whose item is not in `keep` (records gone from a re-ingested corpus). */
  deleteMissingItems(knowledgeBase: KnowledgeBaseId, source: string, keep: ReadonlySet<string>): number {
    const stale = this.database
      .prepare<{ id: number; item: string }>(
        "SELECT id, item FROM kb_documents WHERE kb_id = ? AND source = ?",
      )
      .all(knowledgeBase, source)
      .filter((row) => !keep.has(row.item));
    if (stale.length === 0) return 0;
    this.database.transaction(() => {
      for (const row of stale) {
        this.deleteChunks(knowledgeBase, row.id);
        this.database.prepare("DELETE FROM kb_documents WHERE id = ?").run(row.id);
      }
      this.touch(knowledgeBase);
    });
    return stale.length;
  }

  /** How many chunks contain each (analyzed) term. */
  getDocumentFrequencies(knowledgeBase: KnowledgeBaseId, terms: Iterable<string>): Map<string, number> {
    const rows = this.database
      .prepare<{ term: string; doc: number }>(
        `SELECT term, doc FROM ${ftsTable(knowledgeBase)}_vocab WHERE term IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(Array.from(terms)));
    return new Map(rows.map((row) => [row.term, row.doc]));
  }

  /**
   * The best chunks for an FTS5 MATCH expression by BM25 (FTS5's: k1 = 1.2, b = 0.75), with the
   * heading and body columns weighted. Scores are positive, higher is better.
   */
  searchLexical(
    knowledgeBase: KnowledgeBaseId,
    match: string,
    limit: number,
    weights: { heading: number; body: number },
  ): { chunkId: ChunkId; score: number }[] {
    const rows = this.database
      .prepare<{ rowid: number; score: number }>(
        `SELECT rowid, -bm25(${ftsTable(knowledgeBase)}, ?, ?) AS score FROM ${ftsTable(knowledgeBase)}
         WHERE ${ftsTable(knowledgeBase)} MATCH ? ORDER BY score DESC LIMIT ?`,
      )
      .all(weights.heading, weights.body, match, limit);
    return rows.map((row) => ({ chunkId: row.rowid as ChunkId, score: row.score }));
  }

  /** Every stored vector of a knowledge base, as chunk ids and one flat float32 matrix. */
  readVectors(knowledgeBase: KnowledgeBaseId): {
    chunkIds: ChunkId[];
    matrix: Float32Array;
    dimensions: number;
  } {
    const kb = this.getKnowledgeBaseById(knowledgeBase);
    const dimensions = kb.embeddingDimensions ?? 0;
    const rows = this.database
      .prepare<{ id: number; vector: Uint8Array }>(
        "SELECT id, vector FROM kb_chunks WHERE kb_id = ? AND vector IS NOT NULL ORDER BY id",
      )
      .all(knowledgeBase);
    const matrix = new Float32Array(rows.length * dimensions);
    const chunkIds: ChunkId[] = [];
    rows.forEach((row, index) => {
      matrix.set(
        new Float32Array(
          row.vector.buffer.slice(row.vector.byteOffset, row.vector.byteOffset + row.vector.byteLength),
        ),
        index * dimensions,
      );
      chunkIds.push(row.id as ChunkId);
    });
    return { chunkIds, matrix, dimensions };
  }

  /** Details of the given chunks, in the order given (unknown ids are skipped). */
  getChunkDetails(chunkIds: readonly ChunkId[]): ChunkDetails[] {
    if (chunkIds.length === 0) return [];
    const rows = this.database
      .prepare<{
        id: number;
        document_id: number;
        ordinal: number;
        location: string;
        text: string;
        title: string;
        source: string;
        item: string;
        license: string;
        attribution: string;
      }>(
        `SELECT c.id, c.document_id, c.ordinal, c.location, c.text, d.title, d.source, d.item, d.license, d.attribution
         FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id
         WHERE c.id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(chunkIds));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return chunkIds.flatMap((id) => {
      const row = byId.get(id);
      return row
        ? [
            {
              chunkId: id,
              documentId: row.document_id as DocumentId,
              ordinal: row.ordinal,
              title: row.title,
              source: row.source,
              item: row.item,
              location: row.location,
              text: row.text,
              license: row.license,
              attribution: row.attribution,
            },
          ]
        : [];
    });
  }

  /** Document ids of chunks, for grouping results by document without loading their text. */
  getDocumentIds(chunkIds: readonly ChunkId[]): Map<ChunkId, DocumentId> {
    if (chunkIds.length === 0) return new Map();
    const rows = this.database
      .prepare<{ id: number; document_id: number }>(
        "SELECT id, document_id FROM kb_chunks WHERE id IN (SELECT value FROM json_each(?))",
      )
      .all(JSON.stringify(chunkIds));
    return new Map(rows.map((row) => [row.id as ChunkId, row.document_id as DocumentId]));
  }

  private getKnowledgeBaseById(id: KnowledgeBaseId): KnowledgeBase {
    const row = this.database
      .prepare<KnowledgeBaseRow>(`SELECT ${knowledgeBaseColumns} FROM knowledge_bases kb WHERE kb.id = ?`)
      .get(id);
    if (!row) throw new OstromError("knowledge_base_not_found", `No knowledge base with id ${id}.`);
    return toKnowledgeBase(row);
  }

  private deleteChunks(knowledgeBase: KnowledgeBaseId, documentId: number): void {
    this.database
      .prepare(
        `DELETE FROM ${ftsTable(knowledgeBase)} WHERE rowid IN (SELECT id FROM kb_chunks WHERE document_id = ?)`,
      )
      .run(documentId);
    this.database.prepare("DELETE FROM kb_chunks WHERE document_id = ?").run(documentId);
  }

  private touch(knowledgeBase: KnowledgeBaseId): void {
    this.database
      .prepare("UPDATE knowledge_bases SET generation = generation + 1 WHERE id = ?")
      .run(knowledgeBase);
  }
}

function ftsTable(id: number): string {
  if (!Number.isSafeInteger(id)) throw new Error(`bad knowledge base id ${id}`);
  return `kb_fts_${id}`;
}

function toKnowledgeBase(row: KnowledgeBaseRow): KnowledgeBase {
  return {
    id: row.id as KnowledgeBaseId,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    settings: { ...defaultTextAnalysis, ...(JSON.parse(row.settings) as Partial<TextAnalysisSettings>) },
    embeddingModel: row.embedding_model,
    embeddingDimensions: row.embedding_dimensions,
    chatModel: row.chat_model,
    documentCount: row.document_count,
    chunkCount: row.chunk_count,
    generation: row.generation,
  };
}

function toDocument(row: DocumentRow): KnowledgeDocument {
  return {
    id: row.id as DocumentId,
    source: row.source,
    item: row.item,
    title: row.title,
    format: row.format as DocumentFormat,
    checksum: row.checksum,
    bytes: row.bytes,
    license: row.license,
    attribution: row.attribution,
    ingestedAt: row.ingested_at,
    chunkCount: row.chunk_count,
  };
}
