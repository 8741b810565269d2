// The object layer of a minimal PDF reader: a lexer and value parser for PDF syntax, every indirect
// object of the file (including those packed in object streams), and stream decoding (Flate,
// ASCIIHex, ASCII85). Bytes are handled as latin1 strings, one character per byte. Enough to read
// text from the PDFs that office suites, LaTeX and browsers write; encrypted files are refused.
import { inflateSync } from "node:zlib";

export class PdfFormatError extends Error {}

export interface PdfName {
  type: "name";
  name: string;
}
export interface PdfRef {
  type: "ref";
  id: number;
}
export interface PdfString {
  type: "string";
  bytes: string;
}
export type PdfDict = Map<string, PdfValue>;
export type PdfValue = number | boolean | null | PdfName | PdfRef | PdfString | PdfValue[] | PdfDict;

export interface PdfObject {
  value: PdfValue;
  /** The raw (still encoded) stream data, when the object is a stream. */
  stream?: string;
}

type Token =
  | { kind: "number"; value: number }
  | { kind: "name"; value: string }
  | { kind: "string"; value: string }
  | { kind: "delimiter"; value: "[" | "]" | "<<" | ">>" }
  | { kind: "keyword"; value: string }
  | { kind: "end" };

const whitespace = new Set(["\0", "\t", "\n", "\f", "\r", " "]);
const delimiters = new Set(["(", ")", "<", ">", "[", "]", "{", "}", "/", "%"]);

export class PdfLexer {
  position: number;
  constructor(
    readonly source: string,
    position = 0,
  ) {
    this.position = position;
  }

  next(): Token {
    const source = this.source;
    for (;;) {
      while (this.position < source.length && whitespace.has(source[this.position] ?? "")) this.position += 1;
      if (source[this.position] !== "%") break;
      while (
        this.position < source.length &&
        source[this.position] !== "\n" &&
        source[this.position] !== "\r"
      )
        this.position += 1;
    }
    if (this.position >= source.length) return { kind: "end" };
    const char = source[this.position] ?? "";
    if (char === "[" || char === "]") {
      this.position += 1;
      return { kind: "delimiter", value: char };
    }
    if (char === "<" && source[this.position + 1] === "<") {
      this.position += 2;
      return { kind: "delimiter", value: "<<" };
    }
    if (char === ">" && source[this.position + 1] === ">") {
      this.position += 2;
      return { kind: "delimiter", value: ">>" };
    }
    if (char === "<") {
      const end = source.indexOf(">", this.position);
      const hex = source
        .slice(this.position + 1, end === -1 ? source.length : end)
        .replace(/[^0-9a-fA-F]/g, "");
      this.position = end === -1 ? source.length : end + 1;
      return { kind: "string", value: decodeHex(hex) };
    }
    if (char === "(") return { kind: "string", value: this.readLiteralString() };
    if (char === "/") {
      let end = this.position + 1;
      while (end < source.length && !whitespace.has(source[end] ?? "") && !delimiters.has(source[end] ?? ""))
        end += 1;
      const raw = source.slice(this.position + 1, end);
      this.position = end;
      return {
        kind: "name",
        value: raw.replace(/#([0-9a-fA-F]{2})/g, (_m, hex: string) =>
          String.fromCharCode(Number.parseInt(hex, 16)),
        ),
      };
    }
    let end = this.position + 1;
    while (end < source.length && !whitespace.has(source[end] ?? "") && !delimiters.has(source[end] ?? ""))
      end += 1;
    const word = source.slice(this.position, end);
    this.position = end;
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) return { kind: "number", value: Number(word) };
    return { kind: "keyword", value: word };
  }

  private readLiteralString(): string {
    const source = this.source;
    let depth = 0;
    let result = "";
    let position = this.position + 1;
    while (position < source.length) {
      const char = source[position] ?? "";
      if (char === "\\") {
        const next = source[position + 1] ?? "";
        const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" };
        if (next in escapes) {
          result += escapes[next];
          position += 2;
        } else if (/[0-7]/.test(next)) {
          const octal = /^[0-7]{1,3}/.exec(source.slice(position + 1, position + 4))?.[0] ?? "0";
          result += String.fromCharCode(Number.parseInt(octal, 8) & 0xff);
          position += 1 + octal.length;
        } else if (next === "\r" || next === "\n") {
          position += next === "\r" && source[position + 2] === "\n" ? 3 : 2;
        } else {
          result += next;
          position += 2;
        }
        continue;
      }
      if (char === "(") depth += 1;
      if (char === ")") {
        if (depth === 0) break;
        depth -= 1;
      }
      result += char;
      position += 1;
    }
    this.position = position + 1;
    return result;
  }
}

function decodeHex(hex: string): string {
  const padded = hex.length % 2 === 1 ? `${hex}0` : hex;
  let result = "";
  for (let index = 0; index < padded.length; index += 2)
    result += String.fromCharCode(Number.parseInt(padded.slice(index, index + 2), 16));
  return result;
}

/** Parses one value; returns undefined at an operator keyword (which is left consumed in `keyword`). */
export function parseValue(lexer: PdfLexer, token: Token = lexer.next()): PdfValue | { keyword: string } {
  switch (token.kind) {
    case "number": {
      // `id gen R` is a reference: look ahead without consuming when it is not.
      const saved = lexer.position;
      const second = lexer.next();
      if (second.kind === "number") {
        const third = lexer.next();
        if (third.kind === "keyword" && third.value === "R") return { type: "ref", id: token.value };
      }
      lexer.position = saved;
      return token.value;
    }
    case "name":
      return { type: "name", name: token.value };
    case "string":
      return { type: "string", bytes: token.value };
    case "delimiter": {
      if (token.value === "[") {
        const items: PdfValue[] = [];
        for (;;) {
          const next = lexer.next();
          if (next.kind === "end" || (next.kind === "delimiter" && next.value === "]")) return items;
          const value = parseValue(lexer, next);
          if (isValue(value)) items.push(value);
        }
      }
      if (token.value === "<<") {
        const dict: PdfDict = new Map();
        for (;;) {
          const key = lexer.next();
          if (key.kind === "end" || (key.kind === "delimiter" && key.value === ">>")) return dict;
          if (key.kind !== "name") continue;
          const value = parseValue(lexer);
          if (isValue(value)) dict.set(key.value, value);
        }
      }
      return null;
    }
    case "keyword":
      if (token.value === "true") return true;
      if (token.value === "false") return false;
      if (token.value === "null") return null;
      return { keyword: token.value };
    case "end":
      return { keyword: "" };
  }
}

export function isValue(value: PdfValue | { keyword: string }): value is PdfValue {
  return (
    value === null ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    value instanceof Map ||
    "type" in value
  );
}

export function isDict(value: PdfValue | undefined): value is PdfDict {
  return value instanceof Map;
}

export function nameOf(value: PdfValue | undefined): string | undefined {
  return value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Map) &&
    value.type === "name"
    ? value.name
    : undefined;
}

/** Every indirect object in the file, the last definition winning (incremental updates). */
export function readPdfObjects(pdf: string): Map<number, PdfObject> {
  const header = pdf.indexOf("%PDF-");
  if (header === -1 || header > 1024) throw new PdfFormatError("not a PDF file (no %PDF- header)");
  if (/\/Encrypt\s+\d+\s+\d+\s+R/.test(pdf)) throw new PdfFormatError("encrypted PDFs are not supported");
  const objects = new Map<number, PdfObject>();
  for (const match of pdf.matchAll(/(?<![0-9])(\d+)\s+(\d+)\s+obj\b/g)) {
    const lexer = new PdfLexer(pdf, (match.index ?? 0) + match[0].length);
    const value = parseValue(lexer);
    if (!isValue(value)) continue;
    const object: PdfObject = { value };
    const after = new PdfLexer(pdf, lexer.position);
    const keyword = after.next();
    if (isDict(value) && keyword.kind === "keyword" && keyword.value === "stream") {
      let start = after.position;
      if (pdf[start] === "\r") start += 1;
      if (pdf[start] === "\n") start += 1;
      const declared = value.get("Length");
      let end = typeof declared === "number" ? start + declared : -1;
      if (end < start || !/^\s*endstream/.test(pdf.slice(end, end + 20))) {
        end = pdf.indexOf("endstream", start);
        if (end === -1) end = pdf.length;
        if (pdf[end - 1] === "\n") end -= 1;
        if (pdf[end - 1] === "\r") end -= 1;
      }
      object.stream = pdf.slice(start, end);
    }
    objects.set(Number(match[1]), object);
  }
  for (const object of Array.from(objects.values())) {
    if (!isDict(object.value) || nameOf(object.value.get("Type")) !== "ObjStm" || object.stream === undefined)
      continue;
    const data = decodeStream(object.value, object.stream);
    const count = object.value.get("N");
    const first = object.value.get("First");
    if (typeof count !== "number" || typeof first !== "number") continue;
    const header = new PdfLexer(data);
    const offsets: [number, number][] = [];
    for (let index = 0; index < count; index += 1) {
      const id = header.next();
      const offset = header.next();
      if (id.kind === "number" && offset.kind === "number") offsets.push([id.value, offset.value]);
    }
    for (const [id, offset] of offsets) {
      if (objects.has(id)) continue;
      const value = parseValue(new PdfLexer(data, first + offset));
      if (isValue(value)) objects.set(id, { value });
    }
  }
  if (objects.size === 0) throw new PdfFormatError("no PDF objects found (corrupt or truncated file)");
  return objects;
}

/** Applies the stream's filters; throws PdfFormatError for unsupported ones. */
export function decodeStream(dict: PdfDict, raw: string): string {
  const filter = dict.get("Filter");
  const filters = Array.isArray(filter) ? filter.map(nameOf) : filter === undefined ? [] : [nameOf(filter)];
  let data = raw;
  for (const name of filters) {
    switch (name) {
      case "FlateDecode":
      case "Fl":
        try {
          data = inflateSync(Buffer.from(data, "latin1"), { finishFlush: 2 }).toString("latin1");
        } catch (error) {
          throw new PdfFormatError(`cannot inflate a PDF stream: ${(error as Error).message}`);
        }
        break;
      case "ASCIIHexDecode":
      case "AHx":
        data = decodeHex(data.replace(/>.*$/s, "").replace(/[^0-9a-fA-F]/g, ""));
        break;
      case "ASCII85Decode":
      case "A85":
        data = decodeAscii85(data);
        break;
      default:
        throw new PdfFormatError(`unsupported PDF stream filter ${name ?? "?"}`);
    }
  }
  return data;
}

function decodeAscii85(text: string): string {
  const body = text.replace(/^<~/, "").replace(/~>.*$/s, "").replace(/\s/g, "");
  let result = "";
  let group: number[] = [];
  const emit = (values: number[], bytes: number) => {
    let value = 0;
    for (const digit of values) value = value * 85 + digit;
    const out = [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
    result += String.fromCharCode(...out.slice(0, bytes));
  };
  for (const char of body) {
    if (char === "z" && group.length === 0) {
      result += "\0\0\0\0";
      continue;
    }
    group.push(char.charCodeAt(0) - 33);
    if (group.length === 5) {
      emit(group, 4);
      group = [];
    }
  }
  if (group.length > 0) {
    const length = group.length;
    while (group.length < 5) group.push(84);
    emit(group, length - 1);
  }
  return result;
}
