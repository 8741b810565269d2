// Search over a knowledge base: BM25 through the FTS5 index, dense similarity when an embedder is
// given and the knowledge base has vectors, and their fusion (RRF or linear, weights configurable).
// Results carry what an answer needs to cite and credit its source: title, location, text, score,
// license and attribution.
import { OstromError } from "../errors.ts";
import { analyzeQuery, buildMatchExpression } from "./analyze-text.ts";
import { DenseIndex } from "./dense-index.ts";
import type { Embedder } from "./embedder.ts";
import { defaultFusion, type FusionOptions, fuseRankings, type RankedItem } from "./fuse-rankings.ts";
import { normalizeVector } from "./ingest-documents.ts";
import type { ChunkDetails, ChunkId, KnowledgeBase, KnowledgeStore } from "./knowledge-store.ts";

export type SearchMode = "lexical" | "dense" | "hybrid";

export interface SearchOptions {
  /** Results wanted. Default 10, at most 1000. */
  limit?: number;
  /** Default: "hybrid" when an embedder is given and the knowledge base has vectors, else "lexical". */
  mode?: SearchMode;
  embedder?: Embedder;
  /** How hybrid search fuses its lists; weights are [lexical, dense]. Default RRF with k = 60. */
  fusion?: FusionOptions;
  /** Candidates each retriever contributes before fusion. Default max(100, 2 × limit). */
  candidates?: number;
  /** BM25 weight of a match in the title and headings, relative to one in the body. Default 1. */
  headingWeight?: number;
  /** Return at most one chunk (the best) per document. Default false. */
  onePerDocument?: boolean;
  signal?: AbortSignal;
}

export interface SearchHit extends ChunkDetails {
  /** 1-based rank in these results. */
  rank: number;
  /** The fused score (or the single retriever's score): higher is better, comparable within one search. */
  score: number;
  lexicalScore: number | undefined;
  denseScore: number | undefined;
}

export class KnowledgeSearch {
  private readonly denseIndex: DenseIndex;

  constructor(private readonly store: KnowledgeStore) {
    this.denseIndex = new DenseIndex(store);
  }

  /** The knowledge base searched under a name; throws `knowledge_base_not_found`. */
  getKnowledgeBase(name: string): KnowledgeBase {
    return this.store.getKnowledgeBase(name);
  }

  /** Drops cached vectors of a knowledge base about to be deleted (its id may be reused). */
  forget(knowledgeBase: KnowledgeBase): void {
    this.denseIndex.forget(knowledgeBase);
  }

  async search(knowledgeBaseName: string, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const limit = options.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new OstromError("invalid_parameter", "limit must be an integer from 1 to 1000.", {
        param: "limit",
      });
    const knowledgeBase = this.store.getKnowledgeBase(knowledgeBaseName);
    const hasVectors = knowledgeBase.embeddingModel !== null;
    const mode = options.mode ?? (options.embedder && hasVectors ? "hybrid" : "lexical");
    if (mode !== "lexical") {
      if (!options.embedder)
        throw new OstromError("invalid_parameter", `${mode} search needs an embedding model.`, {
          param: "mode",
        });
      if (!hasVectors)
        throw new OstromError(
          "invalid_parameter",
          `Knowledge base "${knowledgeBase.name}" has no vectors; ingest it with an embedding model for ${mode} search.`,
          { param: "mode" },
        );
      if (knowledgeBase.embeddingModel !== options.embedder.model)
        throw new OstromError(
          "invalid_parameter",
          `Knowledge base "${knowledgeBase.name}" was embedded with ${knowledgeBase.embeddingModel}, not ${options.embedder.model}.`,
          { param: "mode" },
        );
    }
    const wanted = options.onePerDocument ? limit * 4 : limit;
    const candidates = Math.max(options.candidates ?? 100, wanted * 2);

    let lexical: RankedItem<ChunkId>[] = [];
    if (mode !== "dense") {
      const terms = analyzeQuery(query, knowledgeBase.settings);
      const frequencies = this.store.getDocumentFrequencies(knowledgeBase.id, terms.keys());
      const match = buildMatchExpression(
        terms,
        frequencies,
        knowledgeBase.chunkCount,
        knowledgeBase.settings,
      );
      lexical = match
        ? this.store
            .searchLexical(knowledgeBase.id, match, mode === "lexical" ? wanted : candidates, {
              heading: options.headingWeight ?? 1,
              body: 1,
            })
            .map((row) => ({ id: row.chunkId, score: row.score }))
        : [];
    }
    let dense: RankedItem<ChunkId>[] = [];
    if (mode !== "lexical" && options.embedder) {
      const [vector] = await options.embedder.embed([query], options.signal);
      options.signal?.throwIfAborted();
      if (!vector) throw new OstromError("internal_error", "the embedder returned no vector for the query");
      dense = this.denseIndex.search(
        knowledgeBase,
        normalizeVector(vector),
        mode === "dense" ? wanted : candidates,
      );
    }

    let ranked =
      mode === "lexical"
        ? lexical
        : mode === "dense"
          ? dense
          : fuseRankings([lexical, dense], options.fusion ?? defaultFusion);
    if (options.onePerDocument) {
      const documents = this.store.getDocumentIds(ranked.map((item) => item.id));
      const seen = new Set<number>();
      ranked = ranked.filter((item) => {
        const document = documents.get(item.id);
        if (document === undefined || seen.has(document)) return false;
        seen.add(document);
        return true;
      });
    }
    ranked = ranked.slice(0, limit);
    const lexicalScores = new Map(lexical.map((item) => [item.id, item.score]));
    const denseScores = new Map(dense.map((item) => [item.id, item.score]));
    const scores = new Map(ranked.map((item) => [item.id, item.score]));
    return this.store.getChunkDetails(ranked.map((item) => item.id)).map((details, index) => ({
      ...details,
      rank: index + 1,
      score: scores.get(details.chunkId) ?? 0,
      lexicalScore: lexicalScores.get(details.chunkId),
      denseScore: denseScores.get(details.chunkId),
    }));
  }
}
