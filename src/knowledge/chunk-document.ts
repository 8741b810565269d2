// Structure-aware chunking: a chunk never spans two sections (a heading starts a new chunk and is
// recorded in the chunk's location), paragraphs are kept whole when they fit, and a section longer
// than the budget is cut at paragraph, then sentence, then word boundaries, each chunk repeating the
// last sentences (up to `overlapTokens`) of the one before. Depends only on the parsed document shape.
//
// Token counts are estimates, so that chunking needs no tokenizer: English BPE vocabularies average
// about 1.3 tokens per word and 4 characters per token, so a text counts max(1.3 × words,
// characters / 4) tokens, plus one per CJK character (those scripts have no spaces to count).
import type { DocumentBlock } from "./parsed-document.ts";

export interface ChunkOptions {
  /** Largest chunk, in estimated tokens. Default 256. */
  maxTokens?: number;
  /** Tokens of context repeated from the previous chunk of the same section. Default 32. */
  overlapTokens?: number;
}

export interface DocumentChunk {
  ordinal: number;
  text: string;
  /** The section's headings, outermost first. */
  headings: string[];
  /** 1-based page of the chunk's first paragraph, for paged formats. */
  page: number | undefined;
  tokenEstimate: number;
}

const cjk = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/g;

export function estimateTokens(text: string): number {
  const cjkCount = text.match(cjk)?.length ?? 0;
  const rest = cjkCount > 0 ? text.replace(cjk, " ") : text;
  const words = rest.split(/\s+/).filter(Boolean).length;
  const characters = rest.replace(/\s+/g, " ").trim().length;
  return Math.ceil(Math.max(words * 1.3, characters / 4)) + cjkCount;
}

/** Formats a chunk's place in its document, e.g. "p. 3 · Methods › Sampling". */
export function formatChunkLocation(chunk: Pick<DocumentChunk, "headings" | "page">): string {
  const parts: string[] = [];
  if (chunk.page !== undefined) parts.push(`p. ${chunk.page}`);
  if (chunk.headings.length > 0) parts.push(chunk.headings.join(" › "));
  return parts.join(" · ");
}

interface Unit {
  text: string;
  tokens: number;
  page: number | undefined;
}

export function chunkDocument(blocks: readonly DocumentBlock[], options: ChunkOptions = {}): DocumentChunk[] {
  const maxTokens = Math.max(16, options.maxTokens ?? 256);
  const overlapTokens = Math.min(Math.max(0, options.overlapTokens ?? 32), Math.floor(maxTokens / 2));
  const chunks: DocumentChunk[] = [];
  const headings: string[] = [];
  let units: Unit[] = [];
  let tokens = 0;
  /** Units repeated at the start of the current chunk: the chunk is new only once more is added. */
  let carried = 0;

  const emit = () => {
    if (units.length > carried) {
      chunks.push({
        ordinal: chunks.length,
        text: units.map((unit) => unit.text).join("\n\n"),
        headings: [...headings],
        page: units[carried]?.page ?? units[0]?.page,
        tokenEstimate: tokens,
      });
    }
  };
  const startSection = () => {
    emit();
    units = [];
    tokens = 0;
    carried = 0;
  };
  const add = (unit: Unit) => {
    if (tokens + unit.tokens > maxTokens && units.length > carried) {
      emit();
      const overlap: Unit[] = [];
      let overlapSize = 0;
      for (let index = units.length - 1; index >= 0 && overlapTokens > 0; index -= 1) {
        const previous = units[index];
        if (!previous) break;
        if (overlapSize + previous.tokens > overlapTokens) {
          if (overlap.length === 0) {
            const tail = takeLastTokens(previous.text, overlapTokens);
            overlap.unshift({ text: tail, tokens: estimateTokens(tail), page: previous.page });
            overlapSize += overlap[0]?.tokens ?? 0;
          }
          break;
        }
        overlap.unshift(previous);
        overlapSize += previous.tokens;
      }
      // Never let the overlap crowd out the new unit.
      while (overlap.length > 0 && overlapSize + unit.tokens > maxTokens)
        overlapSize -= overlap.shift()?.tokens ?? 0;
      units = overlap;
      tokens = overlapSize;
      carried = overlap.length;
    }
    units.push(unit);
    tokens += unit.tokens;
  };

  for (const block of blocks) {
    if (block.kind === "heading") {
      startSection();
      headings.length = Math.min(headings.length, Math.max(0, block.level - 1));
      headings.push(block.text);
      continue;
    }
    for (const piece of splitToFit(block.text, maxTokens)) add({ ...piece, page: block.page });
  }
  emit();
  return chunks;
}

/** A paragraph as it is when it fits, else its sentences, else windows of words. */
function splitToFit(text: string, maxTokens: number): { text: string; tokens: number }[] {
  const whole = estimateTokens(text);
  if (whole <= maxTokens) return [{ text, tokens: whole }];
  const pieces: { text: string; tokens: number }[] = [];
  for (const sentence of text.split(/(?<=[.!?。！？])\s+/)) {
    const size = estimateTokens(sentence);
    if (size <= maxTokens) {
      pieces.push({ text: sentence, tokens: size });
      continue;
    }
    const words = sentence.split(/\s+/);
    const perWindow = Math.max(1, Math.floor(maxTokens / 1.5));
    for (let start = 0; start < words.length; start += perWindow) {
      const window = words.slice(start, start + perWindow).join(" ");
      // Text without spaces (CJK, long URLs) is cut by characters.
      for (let offset = 0; offset < window.length; offset += maxTokens) {
        const part = window.length > maxTokens * 4 ? window.slice(offset, offset + maxTokens) : window;
        pieces.push({ text: part, tokens: estimateTokens(part) });
        if (part === window) break;
      }
    }
  }
  return pieces;
}

function takeLastTokens(text: string, budget: number): string {
  const words = text.split(/\s+/);
  return words.slice(Math.max(0, words.length - Math.max(1, Math.floor(budget / 1.3)))).join(" ");
}
