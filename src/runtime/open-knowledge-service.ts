// Opens the knowledge bases a server or a CLI command works on: the SQLite database `ostrom.db` in
// the data directory (shared by the CLI and the server; WAL lets both use it at once) and the
// knowledge service over it, with embedding models run by the given engine.
import path from "node:path";
import type { Config } from "../config/config-schema.ts";
import type { Engine, ModelHandle } from "../engine/engine.ts";
import { createEngineEmbedder } from "../knowledge/engine-embedder.ts";
import { KnowledgeService } from "../knowledge/knowledge-service.ts";
import { KnowledgeStore } from "../knowledge/knowledge-store.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";

export interface OpenKnowledgeServiceOptions {
  /** Runs embedding models for knowledge bases that have one; without it, search is lexical only. */
  engine?: Pick<Engine, "embed">;
  resolveModel?: (ref: string) => Promise<ModelHandle>;
}

/** The database file of the knowledge bases. */
export function getKnowledgeDatabasePath(config: Pick<Config, "dataDir">): string {
  return path.join(config.dataDir, "ostrom.db");
}

export function openKnowledgeService(
  config: Config,
  options: OpenKnowledgeServiceOptions = {},
): KnowledgeService & Disposable {
  const database = openSqliteDatabase(getKnowledgeDatabasePath(config));
  try {
    const { engine, resolveModel } = options;
    const service = new KnowledgeService(KnowledgeStore.open(database), {
      settings: config,
      ...(engine && resolveModel
        ? {
            createEmbedder: (model: string) =>
              createEngineEmbedder({ engine, model, resolveModel, batchSize: config.embeddingBatchSize }),
          }
        : {}),
    });
    return Object.assign(service, { [Symbol.dispose]: () => database.close() });
  } catch (error) {
    database.close();
    throw error;
  }
}
