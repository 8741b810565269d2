// BEIR-style JSONL corpora: one JSON object per line, `{"_id", "title", "text", "metadata"}`, each a
// document. Read as a stream so that corpora larger than memory work; each record is bounded in size
// and a bad line is reported by number without stopping the others.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { normalizeWhitespace, type ParsedDocument } from "../parsed-document.ts";

export type BeirRecord =
  | { document: ParsedDocument; checksum: string; bytes: number }
  | { line: number; error: string };

export async function* readBeirJsonl(
  path: string,
  maxRecordBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<BeirRecord> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      signal?.throwIfAborted();
      lineNumber += 1;
      if (!line.trim()) continue;
      if (Buffer.byteLength(line) > maxRecordBytes) {
        yield { line: lineNumber, error: `record is larger than ${maxRecordBytes} bytes` };
        continue;
      }
      const parsed = parseBeirRecord(line);
      yield typeof parsed === "string"
        ? { line: lineNumber, error: parsed }
        : {
            document: parsed,
            checksum: createHash("sha256").update(line).digest("hex"),
            bytes: Buffer.byteLength(line),
          };
    }
  } finally {
    lines.close();
  }
}

/** One corpus line to a document, or an error message. */
export function parseBeirRecord(line: string): ParsedDocument | string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return "not valid JSON";
  }
  if (typeof record !== "object" || record === null) return "not a JSON object";
  const { _id: id, title, text } = record as Record<string, unknown>;
  if ((typeof id !== "string" && typeof id !== "number") || String(id) === "") return "missing `_id`";
  if (typeof text !== "string") return "missing `text`";
  const cleanTitle = typeof title === "string" ? normalizeWhitespace(title) : "";
  return {
    item: String(id),
    title: cleanTitle,
    format: "beir-jsonl",
    blocks: text
      .split(/\r?\n\s*\r?\n/)
      .map(normalizeWhitespace)
      .filter((paragraph) => paragraph.length > 0)
      .map((paragraph) => ({ kind: "paragraph", text: paragraph })),
  };
}
