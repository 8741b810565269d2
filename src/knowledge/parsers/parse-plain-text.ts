// Plain text: paragraphs are separated by blank lines; it has no title of its own (the file name is used).
import { normalizeWhitespace, type ParsedDocument } from "../parsed-document.ts";

export function parsePlainText(text: string): ParsedDocument {
  const paragraphs = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n[ \t]*\r?\n/)
    .map(normalizeWhitespace)
    .filter((paragraph) => paragraph.length > 0);
  return {
    item: "",
    title: "",
    format: "text",
    blocks: paragraphs.map((paragraph) => ({ kind: "paragraph", text: paragraph })),
  };
}
