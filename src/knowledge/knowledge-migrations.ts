// The knowledge-base tables, as numbered migrations of the "knowledge" namespace. Each knowledge
// base also gets its own FTS5 table (`kb_fts_<id>`), created with it, so that BM25 statistics
// (document frequencies, average length) are those of its own collection.
import type { Migration } from "../storage/sql-database.ts";

export const knowledgeMigrations: readonly Migration[] = [
  {
    version: 1,
    name: "knowledge bases, documents and chunks",
    up: `
      CREATE TABLE knowledge_bases (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        -- JSON: the text analysis the FTS table was built with (see knowledge-store.ts).
        settings TEXT NOT NULL,
        embedding_model TEXT,
        embedding_dimensions INTEGER,
        created_at TEXT NOT NULL,
        -- Bumped on every change of its chunks; caches of vectors key on it.
        generation INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE kb_documents (
        id INTEGER PRIMARY KEY,
        kb_id INTEGER NOT NULL REFERENCES knowledge_bases(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        item TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL,
        format TEXT NOT NULL,
        checksum TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        license TEXT NOT NULL,
        attribution TEXT NOT NULL,
        ingested_at TEXT NOT NULL,
        chunk_count INTEGER NOT NULL,
        UNIQUE (kb_id, source, item)
      );
      CREATE TABLE kb_chunks (
        id INTEGER PRIMARY KEY,
        kb_id INTEGER NOT NULL REFERENCES knowledge_bases(id) ON DELETE CASCADE,
        document_id INTEGER NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        location TEXT NOT NULL,
        text TEXT NOT NULL,
        token_estimate INTEGER NOT NULL,
        -- float32 little-endian, or NULL without an embedding model.
        vector BLOB
      );
      CREATE INDEX kb_chunks_document ON kb_chunks (document_id, ordinal);
      CREATE INDEX kb_chunks_kb ON kb_chunks (kb_id);
    `,
  },
  {
    version: 2,
    name: "chat model of a knowledge base",
    // The model that answers questions grounded in it (`kb:<name>`); NULL: the server's default.
    up: "ALTER TABLE knowledge_bases ADD COLUMN chat_model TEXT;",
  },
];
