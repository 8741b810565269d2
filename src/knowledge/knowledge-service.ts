// What the server, the MCP server and the CLI ask of knowledge bases, in one place: search with
// the configured fusion (hybrid when the knowledge base has an embedding model), grounding of a
// chat under the configured license rule, and ingestion of uploaded files. HTTP-free; the embedder
// of a model is injected, so this module knows nothing of the engine.
import type { Config } from "../config/config-schema.ts";
import type { ChatMessage } from "../engine/engine.ts";
import { OstromError } from "../errors.ts";
import type { Embedder } from "./embedder.ts";
import type { FusionOptions } from "./fuse-rankings.ts";
import { type GroundedChat, groundChat } from "./ground-chat.ts";
import { type FileOutcome, ingestContent } from "./ingest-documents.ts";
import { KnowledgeSearch, type SearchHit } from "./knowledge-search.ts";
import type { KnowledgeBase, KnowledgeStore } from "./knowledge-store.ts";
import { createLicenseRule, type LicenseRule } from "./license-rule.ts";
import { parseLicense } from "./licenses.ts";

export type KnowledgeSettings = Pick<
  Config,
  | "knowledgeExcludedLicenses"
  | "knowledgeTopK"
  | "knowledgeFusion"
  | "knowledgeFusionWeights"
  | "knowledgeRrfK"
  | "embeddingBatchSize"
  | "maxUploadBytes"
  | "defaultModel"
>;

export interface KnowledgeServiceOptions {
  settings: KnowledgeSettings;
  /** The embedder of a model reference (an embedding model in the store); none: lexical search only. */
  createEmbedder?: (model: string) => Embedder;
}

export interface UploadedFile {
  fileName: string;
  content: Buffer;
}

export type UploadStatus = "added" | "unchanged" | "replaced" | "failed";

export interface UploadOutcome {
  file: string;
  title: string;
  status: UploadStatus;
  error?: { code: string; message: string };
}

export class KnowledgeService {
  readonly search: KnowledgeSearch;
  readonly licenseRule: LicenseRule;
  readonly fusion: FusionOptions;
  private readonly embedders = new Map<string, Embedder>();

  constructor(
    readonly store: KnowledgeStore,
    private readonly options: KnowledgeServiceOptions,
  ) {
    this.search = new KnowledgeSearch(store);
    this.licenseRule = createLicenseRule(options.settings.knowledgeExcludedLicenses);
    this.fusion = toFusionOptions(options.settings);
  }

  /** Answers from knowledge bases that name no chat model (see choose-chat-model.ts). */
  get defaultChatModel(): string {
    return this.options.settings.defaultModel;
  }

  get defaultTopK(): number {
    return this.options.settings.knowledgeTopK;
  }

  get maxUploadBytes(): number {
    return this.options.settings.maxUploadBytes;
  }

  /** Deletes a knowledge base with its documents, chunks, index and cached vectors. */
  deleteKnowledgeBase(name: string): void {
    const knowledgeBase = this.store.getKnowledgeBase(name);
    this.search.forget(knowledgeBase);
    this.store.deleteKnowledgeBase(name);
  }

  /** The embedder of a knowledge base's embedding model, or undefined when it has none. */
  getEmbedder(knowledgeBase: KnowledgeBase): Embedder | undefined {
    const model = knowledgeBase.embeddingModel;
    if (model === null || !this.options.createEmbedder) return undefined;
    let embedder = this.embedders.get(model);
    if (!embedder) {
      embedder = this.options.createEmbedder(model);
      this.embedders.set(model, embedder);
    }
    return embedder;
  }

  /** Searches one knowledge base, hybrid when it has an embedding model this service can run. */
  async searchKnowledgeBase(
    name: string,
    query: string,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<SearchHit[]> {
    const embedder = this.getEmbedder(this.store.getKnowledgeBase(name));
    return this.search.search(name, query, {
      ...options,
      ...(embedder ? { embedder, fusion: this.fusion } : {}),
    });
  }

  /** Grounds chat messages in knowledge bases: sources in a system message, excluded ones reported. */
  groundChat(
    messages: readonly ChatMessage[],
    options: { bases: readonly string[]; topK?: number; signal?: AbortSignal },
  ): Promise<GroundedChat> {
    return groundChat(this.search, messages, {
      bases: options.bases,
      topK: options.topK ?? this.defaultTopK,
      licenseRule: this.licenseRule,
      getEmbedder: (knowledgeBase) => this.getEmbedder(knowledgeBase),
      fusion: this.fusion,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Ingests uploaded files one by one; a file that fails is reported and the others go on. The
   * license is checked before anything is written.
   */
  async ingestUploads(
    name: string,
    files: readonly UploadedFile[],
    options: { license?: string; attribution?: string; signal?: AbortSignal },
  ): Promise<UploadOutcome[]> {
    const knowledgeBase = this.store.getKnowledgeBase(name);
    const license = parseLicense(options.license);
    const embedder = this.getEmbedder(knowledgeBase);
    const outcomes: UploadOutcome[] = [];
    for (const file of files) {
      options.signal?.throwIfAborted();
      const outcome: FileOutcome = await ingestContent(
        this.store,
        name,
        { source: file.fileName, fileName: file.fileName, content: file.content },
        {
          license,
          attribution: options.attribution ?? "",
          maxFileBytes: this.options.settings.maxUploadBytes,
          embeddingBatchSize: this.options.settings.embeddingBatchSize,
          ...(embedder ? { embedder } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      const stored = this.store.listDocuments(knowledgeBase.id, file.fileName)[0];
      outcomes.push({
        file: file.fileName,
        title: outcome.status === "failed" ? "" : (stored?.title ?? file.fileName),
        status: toUploadStatus(outcome.status),
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    }
    return outcomes;
  }
}

function toUploadStatus(status: FileOutcome["status"]): UploadStatus {
  switch (status) {
    case "added":
    case "unchanged":
    case "failed":
      return status;
    case "updated":
      return "replaced";
    default:
      return status satisfies never;
  }
}

function toFusionOptions(settings: KnowledgeSettings): FusionOptions {
  const weights = settings.knowledgeFusionWeights.map(Number);
  if (weights.length !== 2 || weights.some((weight) => !Number.isFinite(weight) || weight < 0))
    throw new OstromError(
      "invalid_configuration",
      `--knowledge-fusion-weights: expected two non-negative numbers LEXICAL,DENSE, got "${settings.knowledgeFusionWeights.join(",")}"`,
    );
  return settings.knowledgeFusion === "linear"
    ? { method: "linear", weights }
    : { method: "rrf", k: settings.knowledgeRrfK, weights };
}
