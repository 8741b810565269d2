// Picks the parser for a file from its extension (and, for PDF and DOCX, its magic bytes) and maps
// parser failures to the error codes the ingestion reports per file.
import path from "node:path";
import { OstromError } from "../errors.ts";
import type { DocumentFormat, ParsedDocument } from "./parsed-document.ts";
import { parseDocx } from "./parsers/parse-docx.ts";
import { parseHtml } from "./parsers/parse-html.ts";
import { parseMarkdown } from "./parsers/parse-markdown.ts";
import { parsePdf } from "./parsers/parse-pdf.ts";
import { parsePlainText } from "./parsers/parse-plain-text.ts";

const extensions: Record<string, DocumentFormat> = {
  ".txt": "text",
  ".text": "text",
  ".md": "markdown",
  ".markdown": "markdown",
  ".mdx": "markdown",
  ".html": "html",
  ".htm": "html",
  ".xhtml": "html",
  ".pdf": "pdf",
  ".docx": "docx",
  ".jsonl": "beir-jsonl",
};

/** The format of a file, or undefined when Ostrom does not ingest it. */
export function detectFormat(filePath: string, head?: Buffer): DocumentFormat | undefined {
  if (head?.subarray(0, 5).toString("latin1") === "%PDF-") return "pdf";
  return extensions[path.extname(filePath).toLowerCase()];
}

export function listSupportedExtensions(): string[] {
  return Object.keys(extensions);
}

/** Parses a whole-file document (every format but BEIR JSONL, which is streamed by records). */
export function parseFileContent(
  format: Exclude<DocumentFormat, "beir-jsonl">,
  content: Buffer,
  fileName: string,
): ParsedDocument {
  try {
    switch (format) {
      case "text":
        return parsePlainText(decodeUtf8(content, fileName));
      case "markdown":
        return parseMarkdown(decodeUtf8(content, fileName));
      case "html":
        return parseHtml(decodeUtf8(content, fileName));
      case "pdf":
        return parsePdf(content);
      case "docx":
        return parseDocx(content, 64 * 1024 * 1024);
      default:
        format satisfies never;
        throw new OstromError("document_unsupported", `${fileName}: unsupported format ${String(format)}.`);
    }
  } catch (error) {
    if (error instanceof OstromError) throw error;
    throw new OstromError(
      "document_unparseable",
      `${fileName}: cannot parse as ${format}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function decodeUtf8(content: Buffer, fileName: string): string {
  // Text with NUL bytes is binary mislabelled as text.
  if (content.includes(0))
    throw new OstromError("document_unparseable", `${fileName}: binary content in a text file.`);
  return new TextDecoder("utf-8", { fatal: false }).decode(content);
}
