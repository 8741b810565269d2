// Retrieval evaluation on BEIR-format folders (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): the
// corpus goes through the real ingestion path into a temporary database, every judged query is run,
// and the usual metrics are computed as pytrec_eval computes them (linear gain nDCG). A retrieved
// document whose id equals the query id is dropped, as MTEB and Pyserini do. bench/eval-retrieval.ts
// is its command line.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import type { TextAnalysisSettings } from "./analyze-text.ts";
import { createHashingEmbedder } from "./hashing-embedder.ts";
import { ingestPaths } from "./ingest-documents.ts";
import { KnowledgeSearch, type SearchMode } from "./knowledge-search.ts";
import { KnowledgeStore } from "./knowledge-store.ts";

export interface RetrievalMetrics {
  "ndcg@10": number;
  "recall@100": number;
  "mrr@10": number;
  docs_per_s: number;
  query_p50_ms: number;
  query_p95_ms: number;
}

/** query id → (document id → relevance). CRLF line endings and a header line are accepted. */
export function parseQrels(tsv: string): Map<string, Map<string, number>> {
  const qrels = new Map<string, Map<string, number>>();
  for (const line of tsv.split(/\r?\n/)) {
    const [query, document, score] = line.replace(/\r$/, "").split("\t");
    if (!query || !document || score === undefined || query === "query-id") continue;
    const relevance = Number(score);
    if (!Number.isFinite(relevance)) continue;
    let judged = qrels.get(query);
    if (!judged) {
      judged = new Map();
      qrels.set(query, judged);
    }
    judged.set(document, relevance);
  }
  return qrels;
}

/**
 * Mean metrics over the judged queries. `rankings` holds each query's retrieved document ids, best
 * first (already without the query's own id); a judged query with no ranking counts as zero.
 */
export function computeMetrics(
  qrels: ReadonlyMap<string, ReadonlyMap<string, number>>,
  rankings: ReadonlyMap<string, readonly string[]>,
): { "ndcg@10": number; "recall@100": number; "mrr@10": number; queries: number } {
  let ndcg = 0;
  let recall = 0;
  let mrr = 0;
  let queries = 0;
  for (const [query, judged] of qrels) {
    const relevant = Array.from(judged.values()).filter((relevance) => relevance > 0);
    if (relevant.length === 0) continue;
    queries += 1;
    const ranking = rankings.get(query) ?? [];
    // Linear gain, as trec_eval and pytrec_eval (which BEIR uses) compute it.
    let dcg = 0;
    ranking.slice(0, 10).forEach((document, index) => {
      dcg += (judged.get(document) ?? 0) / Math.log2(index + 2);
    });
    const ideal = relevant
      .sort((a, b) => b - a)
      .slice(0, 10)
      .reduce((sum, relevance, index) => sum + relevance / Math.log2(index + 2), 0);
    ndcg += ideal > 0 ? dcg / ideal : 0;
    recall +=
      ranking.slice(0, 100).filter((document) => (judged.get(document) ?? 0) > 0).length / relevant.length;
    const first = ranking.slice(0, 10).findIndex((document) => (judged.get(document) ?? 0) > 0);
    mrr += first === -1 ? 0 : 1 / (first + 1);
  }
  const mean = (total: number) => (queries === 0 ? 0 : total / queries);
  return { "ndcg@10": mean(ndcg), "recall@100": mean(recall), "mrr@10": mean(mrr), queries };
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? 0;
}

export interface EvaluateOptions {
  split?: string;
  mode?: SearchMode;
  headingWeight?: number;
  chunkTokens?: number;
  settings?: Partial<TextAnalysisSettings>;
  fusion?: "rrf" | "linear";
  denseWeight?: number;
}

export async function evaluateRetrieval(
  folder: string,
  options: EvaluateOptions = {},
): Promise<RetrievalMetrics & { documents: number; queries: number; chunks: number }> {
  const qrels = parseQrels(
    await readFile(path.join(folder, "qrels", `${options.split ?? "test"}.tsv`), "utf8"),
  );
  const queries = new Map<string, string>();
  for (const line of (await readFile(path.join(folder, "queries.jsonl"), "utf8")).split(/\r?\n/)) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { _id: string | number; text: string };
    if (qrels.has(String(record._id))) queries.set(String(record._id), record.text);
  }
  const temporary = await mkdtemp(path.join(os.tmpdir(), "ostrom-eval-"));
  const database = openSqliteDatabase(path.join(temporary, "ostrom.db"));
  try {
    const store = KnowledgeStore.open(database);
    store.createKnowledgeBase("eval", { settings: options.settings ?? {} });
    const mode = options.mode ?? "lexical";
    const embedder = mode === "lexical" ? undefined : createHashingEmbedder(256);
    const report = await ingestPaths(store, "eval", [path.join(folder, "corpus.jsonl")], {
      ...(embedder ? { embedder } : {}),
      ...(options.chunkTokens ? { chunking: { maxTokens: options.chunkTokens } } : {}),
      maxFileBytes: 16 * 1024 * 1024,
    });
    const failure = report.files.find((file) => file.status === "failed");
    if (failure) throw new Error(failure.error?.message ?? "ingestion failed");
    const documents = report.documents.added + report.documents.updated + report.documents.unchanged;

    const search = new KnowledgeSearch(store);
    const rankings = new Map<string, string[]>();
    const latencies: number[] = [];
    for (const [id, text] of queries) {
      const started = performance.now();
      const hits = await search.search("eval", text, {
        limit: 101,
        mode,
        onePerDocument: true,
        ...(embedder ? { embedder } : {}),
        ...(options.headingWeight !== undefined ? { headingWeight: options.headingWeight } : {}),
        fusion:
          options.fusion === "linear"
            ? { method: "linear", weights: [1, options.denseWeight ?? 1] }
            : { method: "rrf", k: 60, weights: [1, options.denseWeight ?? 1] },
      });
      latencies.push(performance.now() - started);
      rankings.set(
        id,
        hits
          .map((hit) => hit.item)
          .filter((item) => item !== id)
          .slice(0, 100),
      );
    }
    const metrics = computeMetrics(qrels, rankings);
    return {
      "ndcg@10": metrics["ndcg@10"],
      "recall@100": metrics["recall@100"],
      "mrr@10": metrics["mrr@10"],
      docs_per_s: documents / report.seconds,
      query_p50_ms: percentile(latencies, 0.5),
      query_p95_ms: percentile(latencies, 0.95),
      documents,
      queries: metrics.queries,
      chunks: report.chunks,
    };
  } finally {
    database.close();
    await rm(temporary, { recursive: true, force: true });
  }
}
