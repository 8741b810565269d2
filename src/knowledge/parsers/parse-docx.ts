// DOCX (Office Open XML) to blocks, with no dependency: reads word/document.xml from the ZIP, turns
// each <w:p> into a paragraph (or a heading when its style is Heading N or Title, or it has an
// outline level), and takes the title from docProps/core.xml. Tables become one paragraph per cell
// row; images, fields and tracked deletions are ignored.
import { type DocumentBlock, normalizeWhitespace, type ParsedDocument } from "../parsed-document.ts";
import { readZipEntries } from "./read-zip.ts";

export class DocxFormatError extends Error {}

export function parseDocx(docx: Buffer, maxXmlBytes: number): ParsedDocument {
  const entries = readZipEntries(docx, ["word/document.xml", "docProps/core.xml"], maxXmlBytes);
  const documentXml = entries.get("word/document.xml")?.toString("utf8");
  if (documentXml === undefined) throw new DocxFormatError("not a DOCX file (no word/document.xml)");
  const blocks: DocumentBlock[] = [];
  const body = documentXml.replace(/<w:del\b[\s\S]*?<\/w:del>/g, "");
  for (const paragraph of body.matchAll(/<w:p\b[^>]*?(?:\/>|>([\s\S]*?)<\/w:p>)/g)) {
    const inner = paragraph[1] ?? "";
    const text = normalizeWhitespace(
      decodeXml(
        Array.from(inner.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>|<w:(tab|br|cr)\b[^>]*\/>/g), (run) =>
          run[2] ? " " : (run[1] ?? ""),
        ).join(""),
      ),
    );
    if (!text) continue;
    const style = /<w:pStyle\s+w:val="([^"]*)"/.exec(inner)?.[1] ?? "";
    const outline = /<w:outlineLvl\s+w:val="(\d)"/.exec(inner)?.[1];
    const heading = /^heading\s?(\d)$/i.exec(style);
    if (heading || outline !== undefined || /^title$/i.test(style)) {
      const level = heading ? Number(heading[1]) : outline !== undefined ? Number(outline) + 1 : 1;
      blocks.push({ kind: "heading", level: Math.min(Math.max(level, 1), 6), text });
    } else {
      blocks.push({ kind: "paragraph", text });
    }
  }
  const coreXml = entries.get("docProps/core.xml")?.toString("utf8") ?? "";
  const coreTitle = normalizeWhitespace(decodeXml(/<dc:title>([^<]*)<\/dc:title>/.exec(coreXml)?.[1] ?? ""));
  const firstHeading = blocks.find((block) => block.kind === "heading")?.text;
  return { item: "", title: coreTitle || firstHeading || "", format: "docx", blocks };
}

function decodeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_whole, entity: string) => {
    switch (entity) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
      default:
        return String.fromCodePoint(
          entity[1] === "x" ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1)),
        );
    }
  });
}
