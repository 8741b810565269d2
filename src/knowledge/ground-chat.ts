// Grounds a chat in knowledge bases: retrieves the best chunks for the last user message, drops
// those whose license the configured rule forbids (and reports them), and puts the rest in a system
// message as numbered sources [1] … [n] the model is told to cite inline. The numbering of the
// returned `sources` is the numbering the model sees, so citations map back to documents.
// HTTP- and engine-free: it takes a search and plain chat messages.
import type { ChatMessage } from "../engine/engine.ts";
import { invalidParameter } from "../errors.ts";
import type { Embedder } from "./embedder.ts";
import type { FusionOptions } from "./fuse-rankings.ts";
import type { KnowledgeSearch, SearchHit } from "./knowledge-search.ts";
import type { KnowledgeBase } from "./knowledge-store.ts";
import type { LicenseRule } from "./license-rule.ts";

export interface GroundChatOptions {
  /** Knowledge bases to retrieve from, by name; at least one. */
  bases: readonly string[];
  /** Sources given to the model at most. */
  topK: number;
  licenseRule: LicenseRule;
  /** The embedder of a knowledge base's vectors, for hybrid retrieval; none: lexical only. */
  getEmbedder?: (knowledgeBase: KnowledgeBase) => Embedder | undefined;
  fusion?: FusionOptions;
  signal?: AbortSignal;
}

/** A passage given to the model, numbered as it is cited. */
export interface GroundingSource {
  /** 1-based: the model cites it as `[index]`. */
  index: number;
  title: string;
  /** Path or URL of the file, with `#id` for a record of a JSONL corpus. */
  source: string;
  /** Where in the document: `source`, then the page and headings when known. */
  location: string;
  text: string;
  score: number;
  license: string;
  attribution: string;
  knowledgeBase: string;
  documentId: number;
}

/** A document that ranked among the sources but whose license the rule excludes. */
export interface ExcludedSource {
  title: string;
  source: string;
  license: string;
  attribution: string;
  knowledgeBase: string;
  documentId: number;
  reason: string;
}

export interface GroundedChat {
  /** The messages to send to the model: the client's, with the sources in the (first) system message. */
  messages: ChatMessage[];
  sources: GroundingSource[];
  excluded: ExcludedSource[];
  /** The text that was searched: the last user message. */
  query: string;
}

/** Most sources one answer may be grounded in; also bounds the prompt. */
export const maxGroundingSources = 32;

export async function groundChat(
  search: KnowledgeSearch,
  messages: readonly ChatMessage[],
  options: GroundChatOptions,
): Promise<GroundedChat> {
  if (options.bases.length === 0)
    throw invalidParameter("knowledge.bases", "Name at least one knowledge base.");
  if (!Number.isInteger(options.topK) || options.topK < 1 || options.topK > maxGroundingSources)
    throw invalidParameter("knowledge.top_k", `top_k must be an integer from 1 to ${maxGroundingSources}.`);
  const query = findLastUserMessage(messages);
  // Ask each base for more than top_k, so that excluded documents do not leave the answer short.
  const limit = Math.min(1000, options.topK * 3 + 8);
  const perBase: { base: string; hits: SearchHit[] }[] = [];
  for (const base of new Set(options.bases)) {
    const knowledgeBase = search.getKnowledgeBase(base);
    const embedder = options.getEmbedder?.(knowledgeBase);
    const hits =
      query.trim() === ""
        ? []
        : await search.search(base, query, {
            limit,
            ...(embedder ? { embedder } : {}),
            ...(options.fusion ? { fusion: options.fusion } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
    perBase.push({ base: knowledgeBase.name, hits });
  }
  // Scores of different bases are not comparable: interleave them by rank.
  const merged = perBase
    .flatMap(({ base, hits }, order) => hits.map((hit) => ({ base, hit, order })))
    .sort((a, b) => a.hit.rank - b.hit.rank || a.order - b.order);

  const sources: GroundingSource[] = [];
  const excluded: ExcludedSource[] = [];
  const excludedDocuments = new Set<string>();
  for (const { base, hit } of merged) {
    if (sources.length >= options.topK) break;
    const source = hit.item ? `${hit.source}#${hit.item}` : hit.source;
    if (options.licenseRule.isExcluded(hit.license)) {
      const key = `${base}/${hit.documentId}`;
      if (!excludedDocuments.has(key)) {
        excludedDocuments.add(key);
        excluded.push({
          title: hit.title,
          source,
          license: hit.license,
          attribution: hit.attribution,
          knowledgeBase: base,
          documentId: hit.documentId,
          reason: `license ${hit.license} is excluded by the server's rule (${options.licenseRule.excluded.join(", ")})`,
        });
      }
      continue;
    }
    sources.push({
      index: sources.length + 1,
      title: hit.title,
      source,
      location: [source, hit.location].filter(Boolean).join(" · "),
      text: hit.text,
      score: hit.score,
      license: hit.license,
      attribution: hit.attribution,
      knowledgeBase: base,
      documentId: hit.documentId,
    });
  }
  return {
    messages: addGroundingMessage(messages, createGroundingPrompt(sources, [...new Set(options.bases)])),
    sources,
    excluded,
    query,
  };
}

/** The instructions and the numbered sources, as the model reads them. */
export function createGroundingPrompt(sources: readonly GroundingSource[], bases: readonly string[]): string {
  if (sources.length === 0)
    return (
      `No passage of the knowledge base${bases.length === 1 ? "" : "s"} ${bases.join(", ")} matches the ` +
      "question. Say that the knowledge base does not contain the answer; do not make one up."
    );
  return [
    "Answer the question using only the numbered sources below. Cite the sources you use inline with",
    "their numbers in square brackets, like [1] or [2][3]. If the sources do not contain the answer, say so.",
    "",
    "Sources:",
    ...sources.map((source) => `[${source.index}] ${source.title} (${source.location})\n${source.text}\n`),
  ].join("\n");
}

function findLastUserMessage(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message?.role === "user") return message.content;
  }
  throw invalidParameter(
    "messages",
    "A grounded chat needs a user message to search the knowledge base for.",
  );
}

/** The client's system message (if first) keeps its place; the sources follow it in the same message. */
function addGroundingMessage(messages: readonly ChatMessage[], grounding: string): ChatMessage[] {
  const [first, ...rest] = messages;
  if (first?.role === "system") return [{ ...first, content: `${first.content}\n\n${grounding}` }, ...rest];
  return [{ role: "system", content: grounding }, ...messages];
}
