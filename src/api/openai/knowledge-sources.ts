// Ostrom's extension fields of chat completions grounded in knowledge bases, in snake_case wire
// form: `sources` (numbered as the answer cites them) and `excluded_sources`, on the response body
// or, when streaming, on a first chunk with empty `choices` (which OpenAI clients tolerate) sent
// before any token. Pure translators.
import type { ExcludedSource, GroundingSource } from "../../knowledge/ground-chat.ts";
import type { ResponseHead } from "./responses.ts";

export interface SourcesFields {
  sources: ReturnType<typeof toSourceJson>[];
  excluded_sources: ReturnType<typeof toExcludedSourceJson>[];
}

export function toSourceJson(source: GroundingSource) {
  return {
    index: source.index,
    title: source.title,
    location: source.location,
    source: source.source,
    text: source.text,
    score: source.score,
    license: source.license,
    attribution: source.attribution,
    knowledge_base: source.knowledgeBase,
    document_id: source.documentId,
  };
}

export function toExcludedSourceJson(source: ExcludedSource) {
  return {
    title: source.title,
    source: source.source,
    license: source.license,
    attribution: source.attribution,
    knowledge_base: source.knowledgeBase,
    document_id: source.documentId,
    reason: source.reason,
  };
}

export function toSourcesFields(grounded: {
  sources: readonly GroundingSource[];
  excluded: readonly ExcludedSource[];
}): SourcesFields {
  return {
    sources: grounded.sources.map(toSourceJson),
    excluded_sources: grounded.excluded.map(toExcludedSourceJson),
  };
}

/**
 * Puts a chunk carrying the sources in front of a chat stream. The stream's first chunk is awaited
 * before the sources go out, so that an error found before generation (a full queue, a prompt too
 * long) still fails the whole response with its own HTTP status.
 */
export async function* prependSourcesChunk<Chunk>(
  head: ResponseHead,
  chunks: AsyncIterable<Chunk>,
  fields: SourcesFields,
): AsyncGenerator<Chunk | ReturnType<typeof toSourcesChunk>> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    const first = await iterator.next();
    yield toSourcesChunk(head, fields);
    if (first.done) return;
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  } finally {
    await iterator.return?.();
  }
}

export function toSourcesChunk(head: ResponseHead, fields: SourcesFields) {
  return {
    id: head.id,
    object: "chat.completion.chunk" as const,
    created: head.created,
    model: head.model,
    choices: [] as [],
    ...fields,
  };
}
