// Retrieval quality and speed on any BEIR-format folder (corpus.jsonl, queries.jsonl,
// qrels/<split>.tsv): ingests the corpus through the real ingestion path into a temporary database,
// runs every judged query and reports nDCG@10, Recall@100, MRR@10, ingestion docs/s and query
// latency. A retrieved document whose id equals the query id is dropped (as MTEB and Pyserini do).
//
//   npm run eval:retrieval -- <beir-dir> [--json] [--split test] [--mode lexical|dense|hybrid]
//     [--heading-weight N] [--chunk-tokens N] [--stemmer porter|none] [--index-stopwords true|false]
//     [--query-stopwords true|false] [--query-term-repeats N]
//     [--max-term-chunk-fraction F]
//     [--max-query-terms N] [--fusion rrf|linear] [--dense-weight N]
//
// `--mode dense|hybrid` uses a feature-hashing embedder: it checks the dense plumbing, it is not a
// semantic model.
import path from "node:path";
import { parseArgs } from "node:util";
import type { TextAnalysisSettings } from "../src/knowledge/analyze-text.ts";
import { evaluateRetrieval, type RetrievalMetrics } from "../src/knowledge/evaluate-retrieval.ts";

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      split: { type: "string" },
      mode: { type: "string" },
      "heading-weight": { type: "string" },
      "chunk-tokens": { type: "string" },
      stemmer: { type: "string" },
      "index-stopwords": { type: "string" },
      "query-stopwords": { type: "string" },
      "query-term-repeats": { type: "string" },
      "max-term-chunk-fraction": { type: "string" },
      "max-query-terms": { type: "string" },
      fusion: { type: "string" },
      "dense-weight": { type: "string" },
    },
  });
  const folder = positionals[0];
  if (!folder) {
    process.stderr.write("usage: npm run eval:retrieval -- <beir-dir> [--json]\n");
    process.exitCode = 2;
    return;
  }
  const settings: Partial<TextAnalysisSettings> = {};
  if (values.stemmer === "porter" || values.stemmer === "none") settings.stemmer = values.stemmer;
  if (values["index-stopwords"]) settings.indexStopwords = values["index-stopwords"] === "true";
  if (values["query-stopwords"]) settings.queryStopwords = values["query-stopwords"] === "true";
  if (values["query-term-repeats"]) settings.queryTermRepeats = Number(values["query-term-repeats"]);
  if (values["max-term-chunk-fraction"])
    settings.maxTermChunkFraction = Number(values["max-term-chunk-fraction"]);
  if (values["max-query-terms"]) settings.maxQueryTerms = Number(values["max-query-terms"]);
  const mode = values.mode === "dense" || values.mode === "hybrid" ? values.mode : "lexical";
  const result = await evaluateRetrieval(folder, {
    ...(values.split ? { split: values.split } : {}),
    mode,
    settings,
    ...(values["heading-weight"] ? { headingWeight: Number(values["heading-weight"]) } : {}),
    ...(values["chunk-tokens"] ? { chunkTokens: Number(values["chunk-tokens"]) } : {}),
    ...(values.fusion === "linear" ? { fusion: "linear" as const } : {}),
    ...(values["dense-weight"] ? { denseWeight: Number(values["dense-weight"]) } : {}),
  });
  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  const figures: RetrievalMetrics = {
    "ndcg@10": round(result["ndcg@10"], 4),
    "recall@100": round(result["recall@100"], 4),
    "mrr@10": round(result["mrr@10"], 4),
    docs_per_s: round(result.docs_per_s, 0),
    query_p50_ms: round(result.query_p50_ms, 1),
    query_p95_ms: round(result.query_p95_ms, 1),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  process.stdout.write(
    [
      `${path.basename(path.resolve(folder))}: ${result.documents} documents (${result.chunks} chunks), ${result.queries} queries, ${mode}`,
      "",
      "| nDCG@10 | Recall@100 | MRR@10 | docs/s | query p50 ms | query p95 ms |",
      "| ---: | ---: | ---: | ---: | ---: | ---: |",
      `| ${figures["ndcg@10"]} | ${figures["recall@100"]} | ${figures["mrr@10"]} | ${figures.docs_per_s} | ${figures.query_p50_ms} | ${figures.query_p95_ms} |`,
      "",
    ].join("\n"),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
