// Text analysis for lexical search, done here rather than by an FTS5 tokenizer so that index and
// queries share one analyzer whose terms we know: lower-casing, diacritics removal, splitting on
// anything but letters and digits, English stopword removal and Porter stemming. The FTS5 table
// then indexes the analyzed terms with a plain unicode61 tokenizer. Long queries keep their most
// selective terms (highest IDF). Settings are stored per knowledge base: the index is built with them.
import { englishStopwords } from "./english-stopwords.ts";
import { stemPorter } from "./stem-porter.ts";

export interface TextAnalysisSettings {
  /** "porter" stems English words (argue, argued, arguing → argu); "none" keeps words whole. */
  stemmer: "porter" | "none";
  /** Leave English stopwords out of queries. */
  queryStopwords: boolean;
  /** Also leave them out of the index (smaller index; document lengths count content words only). */
  indexStopwords: boolean;
  /**
   * How many times a query term repeated in the query counts at most: 1 treats the query as a set
   * of words; more lets a long query's recurring words weigh more (BM25 with query term frequency),
   * at some cost in latency (each repetition is one more phrase for FTS5 to score).
   */
  queryTermRepeats: number;
  /**
   * Most distinct terms a query searches for: a longer query keeps its highest-IDF terms. The default
   * 96 was measured on ArguAna (queries are whole arguments, often 100+ distinct terms): 256 → 96 took
   * query p95 from 52 to 44 ms for nDCG@10 0.484 → 0.481 (64: p95 32 ms, nDCG 0.467).
   */
  maxQueryTerms: number;
  /**
   * Query terms found in more than this fraction of chunks are left out when the query has other
   * terms: they barely move BM25 scores (low IDF) but have the longest posting lists to score, and
   * FTS5 scores every matching chunk. 1 keeps every term (exact BM25). The default 0.07 was
   * measured on ArguAna's long queries: nDCG@10 0.512 → 0.484, query p95 88 → 48 ms.
   */
  maxTermChunkFraction: number;
}

export const defaultTextAnalysis: TextAnalysisSettings = {
  stemmer: "porter",
  queryStopwords: true,
  indexStopwords: true,
  queryTermRepeats: 8,
  maxQueryTerms: 96,
  maxTermChunkFraction: 0.07,
};

/** The FTS5 tokenizer for analyzed text (already lower-cased, without diacritics). */
export const ftsTokenizer = "unicode61 remove_diacritics 0";

/** Lower-cased words without diacritics, split on anything but letters and digits. */
export function tokenizeWords(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

function analyze(text: string, settings: TextAnalysisSettings, dropStopwords: boolean): string[] {
  const terms: string[] = [];
  for (const word of tokenizeWords(text)) {
    if (dropStopwords && englishStopwords.has(word)) continue;
    terms.push(settings.stemmer === "porter" ? stemPorter(word) : word);
  }
  return terms;
}

/** The text written to the FTS5 index: the analyzed terms, space-separated. */
export function analyzeForIndex(text: string, settings: TextAnalysisSettings): string {
  return analyze(text, settings, settings.indexStopwords).join(" ");
}

/** A query's terms with how often each occurs, in order of first occurrence. */
export function analyzeQuery(query: string, settings: TextAnalysisSettings): Map<string, number> {
  let terms = analyze(query, settings, settings.queryStopwords);
  // A query of stopwords only ("to be or not to be") still searches for them.
  if (terms.length === 0 && settings.queryStopwords && !settings.indexStopwords)
    terms = analyze(query, settings, false);
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

/**
 * The FTS5 MATCH expression for a query: its terms OR-ed, unknown terms left out, at most
 * `maxQueryTerms` of them (the highest IDF first), each repeated as often as it occurs, up to
 * `queryTermRepeats` (FTS5's bm25 sums over the phrases of the query).
 */
export function buildMatchExpression(
  terms: ReadonlyMap<string, number>,
  documentFrequencies: ReadonlyMap<string, number>,
  chunkCount: number,
  settings: TextAnalysisSettings,
): string | undefined {
  let known = Array.from(terms).filter(([term]) => (documentFrequencies.get(term) ?? 0) > 0);
  if (known.length === 0) return undefined;
  const selective = known.filter(
    ([term]) => (documentFrequencies.get(term) ?? 0) <= chunkCount * settings.maxTermChunkFraction,
  );
  if (selective.length > 0) known = selective;
  const kept =
    known.length <= settings.maxQueryTerms
      ? known
      : known
          .map(([term, count], order) => ({ term, count, order, df: documentFrequencies.get(term) ?? 0 }))
          .sort((a, b) => a.df - b.df || a.order - b.order)
          .slice(0, settings.maxQueryTerms)
          .sort((a, b) => a.order - b.order)
          .map(({ term, count }): [string, number] => [term, count]);
  return kept
    .flatMap(([term, count]) =>
      Array<string>(Math.max(1, Math.min(count, settings.queryTermRepeats))).fill(`"${term}"`),
    )
    .join(" OR ");
}
