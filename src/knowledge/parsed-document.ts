// The format-neutral shape every parser produces: a title and a flat list of blocks (headings and
// paragraphs) in reading order, which the chunker turns into chunks. Depends on nothing.

export type DocumentFormat = "text" | "markdown" | "html" | "pdf" | "docx" | "beir-jsonl";

export type DocumentBlock =
  | { kind: "heading"; level: number; text: string; page?: number }
  | { kind: "paragraph"; text: string; page?: number };

export interface ParsedDocument {
  /** Identifies the document inside its source file ("" for a whole file, the `_id` for a JSONL record). */
  item: string;
  /** The title found in the content, or "" (the ingestion then uses the record id or file name). */
  title: string;
  format: DocumentFormat;
  blocks: DocumentBlock[];
}

/** Collapses runs of whitespace (including non-breaking spaces) into single spaces and trims. */
export function normalizeWhitespace(text: string): string {
  return text.replace(/[\s\u00a0]+/g, " ").trim();
}
