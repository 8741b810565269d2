// PDF to blocks with our own minimal reader (no dependency): walks the page tree, decodes each page's
// content streams and reads the text-showing operators, mapping character codes through the font's
// ToUnicode CMap when it has one (Type0/Identity-H fonts from office suites) and as WinAnsi/Latin-1
// otherwise. Lines come from text positioning; a vertical gap larger than usual starts a paragraph.
// Each block carries its page number. Scanned (image-only) PDFs yield no text and are reported.
import { type DocumentBlock, normalizeWhitespace, type ParsedDocument } from "../parsed-document.ts";
import {
  decodeStream,
  isDict,
  isValue,
  nameOf,
  type PdfDict,
  PdfFormatError,
  PdfLexer,
  type PdfObject,
  type PdfValue,
  parseValue,
  readPdfObjects,
} from "./read-pdf-objects.ts";

interface FontDecoder {
  /** Bytes per character code (1 or 2). */
  codeLength: number;
  map: Map<number, string> | undefined;
}

export function parsePdf(pdf: Buffer): ParsedDocument {
  const objects = readPdfObjects(pdf.toString("latin1"));
  const resolve = (value: PdfValue | undefined, depth = 0): PdfValue | undefined => {
    if (
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      !(value instanceof Map) &&
      value.type === "ref"
    )
      return depth > 32 ? undefined : resolve(objects.get(value.id)?.value, depth + 1);
    return value;
  };
  const objectOf = (value: PdfValue | undefined): PdfObject | undefined =>
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Map) &&
    value.type === "ref"
      ? objects.get(value.id)
      : undefined;

  const pages = findPages(objects, resolve);
  if (pages.length === 0) throw new PdfFormatError("the PDF has no pages");
  const fontCache = new Map<PdfValue, FontDecoder>();
  const blocks: DocumentBlock[] = [];
  pages.forEach((page, index) => {
    const resources = resolve(inherited(page, "Resources", resolve));
    const fonts = isDict(resources) ? resolve(resources.get("Font")) : undefined;
    const decoderFor = (fontName: string): FontDecoder => {
      const fontValue = isDict(fonts) ? fonts.get(fontName) : undefined;
      if (fontValue === undefined) return { codeLength: 1, map: undefined };
      const cached = fontCache.get(fontValue);
      if (cached) return cached;
      const font = resolve(fontValue);
      const toUnicode = isDict(font) ? objectOf(font.get("ToUnicode")) : undefined;
      const decoder =
        toUnicode?.stream !== undefined && isDict(toUnicode.value)
          ? parseToUnicode(decodeStream(toUnicode.value, toUnicode.stream))
          : { codeLength: isDict(font) && nameOf(font.get("Subtype")) === "Type0" ? 2 : 1, map: undefined };
      fontCache.set(fontValue, decoder);
      return decoder;
    };
    const contents = page.get("Contents");
    const parts = Array.isArray(resolve(contents)) ? (resolve(contents) as PdfValue[]) : [contents];
    const streams = parts
      .map(objectOf)
      .filter(
        (object): object is PdfObject & { value: PdfDict; stream: string } =>
          object?.stream !== undefined && isDict(object.value),
      )
      .map((object) => decodeStream(object.value, object.stream));
    for (const paragraph of extractParagraphs(streams.join("\n"), decoderFor))
      blocks.push({ kind: "paragraph", text: paragraph, page: index + 1 });
  });
  if (blocks.length === 0) throw new PdfFormatError("the PDF has no extractable text (scanned images?)");
  return { item: "", title: readInfoTitle(objects, resolve), format: "pdf", blocks };
}

type Resolve = (value: PdfValue | undefined) => PdfValue | undefined;

function findPages(objects: Map<number, PdfObject>, resolve: Resolve): PdfDict[] {
  const catalog = Array.from(objects.values()).find(
    (object) => isDict(object.value) && nameOf(object.value.get("Type")) === "Catalog",
  );
  const pages: PdfDict[] = [];
  const seen = new Set<PdfDict>();
  const visit = (node: PdfValue | undefined, parent: PdfDict | undefined) => {
    const dict = resolve(node);
    if (!isDict(dict) || seen.has(dict)) return;
    seen.add(dict);
    if (parent && !dict.has("Parent")) dict.set("Parent", parent);
    const type = nameOf(dict.get("Type"));
    if (type === "Page" || (type === undefined && dict.has("Contents"))) {
      pages.push(dict);
      return;
    }
    const kids = resolve(dict.get("Kids"));
    if (Array.isArray(kids)) for (const kid of kids) visit(kid, dict);
  };
  if (catalog && isDict(catalog.value)) visit(catalog.value.get("Pages"), undefined);
  if (pages.length === 0) {
    // No usable page tree (damaged file): take every page object in file order.
    for (const object of objects.values())
      if (isDict(object.value) && nameOf(object.value.get("Type")) === "Page") pages.push(object.value);
  }
  return pages;
}

function inherited(page: PdfDict, key: string, resolve: Resolve): PdfValue | undefined {
  let node: PdfValue | undefined = page;
  for (let depth = 0; depth < 32 && isDict(node); depth += 1) {
    if (node.has(key)) return node.get(key);
    node = resolve(node.get("Parent"));
  }
  return undefined;
}

function readInfoTitle(objects: Map<number, PdfObject>, resolve: Resolve): string {
  for (const object of objects.values()) {
    if (!isDict(object.value)) continue;
    const title = resolve(object.value.get("Title"));
    if (
      title &&
      typeof title === "object" &&
      !Array.isArray(title) &&
      !(title instanceof Map) &&
      title.type === "string"
    )
      return normalizeWhitespace(decodeTextString(title.bytes));
  }
  return "";
}

/** PDF text strings are UTF-16BE with a byte-order mark, or PDFDocEncoding (close to Latin-1). */
function decodeTextString(bytes: string): string {
  if (bytes.startsWith("\u00fe\u00ff")) {
    let result = "";
    for (let index = 2; index + 1 < bytes.length; index += 2)
      result += String.fromCharCode((bytes.charCodeAt(index) << 8) | bytes.charCodeAt(index + 1));
    return result;
  }
  return bytes;
}

function parseToUnicode(cmap: string): FontDecoder {
  const map = new Map<number, string>();
  const hexToNumber = (hex: string) => Number.parseInt(hex, 16);
  const hexToText = (hex: string) => {
    let text = "";
    for (let index = 0; index + 3 < hex.length + 3 && index < hex.length; index += 4)
      text += String.fromCharCode(Number.parseInt(hex.slice(index, index + 4).padEnd(4, "0"), 16));
    return text;
  };
  const codespace = /begincodespacerange\s*<([0-9a-fA-F]+)>/.exec(cmap);
  const codeLength = codespace?.[1] ? Math.max(1, Math.ceil(codespace[1].length / 2)) : 2;
  for (const section of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const pair of (section[1] ?? "").matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>/g))
      map.set(hexToNumber(pair[1] ?? ""), hexToText(pair[2] ?? ""));
  }
  for (const section of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    const body = section[1] ?? "";
    for (const range of body.matchAll(
      /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(<([0-9a-fA-F]*)>|\[([^\]]*)\])/g,
    )) {
      const low = hexToNumber(range[1] ?? "");
      const high = Math.min(hexToNumber(range[2] ?? ""), low + 65_535);
      if (range[4] !== undefined) {
        const start = hexToText(range[4]);
        const last = start.charCodeAt(start.length - 1);
        for (let code = low; code <= high; code += 1)
          map.set(code, start.slice(0, -1) + String.fromCharCode(last + code - low));
      } else {
        const targets = Array.from((range[5] ?? "").matchAll(/<([0-9a-fA-F]*)>/g), (target) =>
          hexToText(target[1] ?? ""),
        );
        targets.forEach((target, offset) => {
          if (low + offset <= high) map.set(low + offset, target);
        });
      }
    }
  }
  return { codeLength, map };
}

// Windows-1252 differs from Latin-1 in 0x80–0x9F, where PDFs put quotes and dashes.
const winAnsiHigh = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ";

function decodeShownText(bytes: string, decoder: FontDecoder): string {
  let text = "";
  for (let index = 0; index < bytes.length; index += decoder.codeLength) {
    let code = 0;
    for (let byte = 0; byte < decoder.codeLength; byte += 1)
      code = (code << 8) | (bytes.charCodeAt(index + byte) || 0);
    const mapped = decoder.map?.get(code);
    if (mapped !== undefined) text += mapped;
    else if (decoder.codeLength === 1)
      text += code >= 0x80 && code <= 0x9f ? (winAnsiHigh[code - 0x80] ?? "") : String.fromCharCode(code);
  }
  return text;
}

/** Reads the text operators of a content stream and groups the lines into paragraphs. */
function extractParagraphs(content: string, decoderFor: (fontName: string) => FontDecoder): string[] {
  const lexer = new PdfLexer(content);
  const operands: PdfValue[] = [];
  const lines: { y: number; text: string }[] = [];
  let decoder: FontDecoder = { codeLength: 1, map: undefined };
  let fontSize = 12;
  let leading = 0;
  let y = 0;
  let line = "";
  const endLine = (nextY: number) => {
    if (line.trim()) lines.push({ y, text: line });
    line = "";
    y = nextY;
  };
  const numberAt = (index: number) => {
    const value = operands[operands.length + index];
    return typeof value === "number" ? value : 0;
  };
  for (;;) {
    const token = lexer.next();
    if (token.kind === "end") break;
    const value = parseValue(lexer, token);
    if (isValue(value)) {
      operands.push(value);
      continue;
    }
    switch (value.keyword) {
      case "BI": {
        // Inline image data is binary: skip to its end marker.
        const end = content.indexOf("EI", lexer.position);
        lexer.position = end === -1 ? content.length : end + 2;
        break;
      }
      case "Tf": {
        const name = nameOf(operands[operands.length - 2]);
        if (name) decoder = decoderFor(name);
        fontSize = Math.abs(numberAt(-1)) || fontSize;
        break;
      }
      case "TL":
        leading = numberAt(-1);
        break;
      case "Td":
      case "TD": {
        const dy = numberAt(-1);
        if (value.keyword === "TD") leading = -dy;
        if (Math.abs(dy) > 0.01) endLine(y + dy);
        else if (numberAt(-2) > fontSize * 0.3 && line && !line.endsWith(" ")) line += " ";
        break;
      }
      case "Tm": {
        const newY = numberAt(-1);
        if (Math.abs(newY - y) > 0.01) endLine(newY);
        break;
      }
      case "T*":
        endLine(y - (leading || fontSize * 1.2));
        break;
      case "'":
      case '"':
        endLine(y - (leading || fontSize * 1.2));
        line += showText(operands[operands.length - 1], decoder);
        break;
      case "Tj":
        line += showText(operands[operands.length - 1], decoder);
        break;
      case "TJ": {
        const items = operands[operands.length - 1];
        if (Array.isArray(items)) {
          for (const item of items) {
            if (typeof item === "number") {
              if (item < -200 && line && !line.endsWith(" ")) line += " ";
            } else line += showText(item, decoder);
          }
        }
        break;
      }
      case "ET":
        break;
    }
    operands.length = 0;
  }
  endLine(y);
  return groupLines(lines, fontSize * 1.2);
}

function showText(value: PdfValue | undefined, decoder: FontDecoder): string {
  return value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Map) &&
    value.type === "string"
    ? decodeShownText(value.bytes, decoder)
    : "";
}

function groupLines(lines: { y: number; text: string }[], lineHeight: number): string[] {
  const gaps = lines
    .slice(1)
    .map((line, index) => (lines[index]?.y ?? 0) - line.y)
    .filter((gap) => gap > 0)
    .sort((a, b) => a - b);
  // The usual line spacing: a low quantile, so that paragraph gaps never set it.
  const usual = Math.min(gaps[Math.floor(gaps.length / 4)] ?? lineHeight, lineHeight);
  const paragraphs: string[] = [];
  let current: string[] = [];
  lines.forEach((line, index) => {
    const previous = lines[index - 1];
    const gap = previous ? previous.y - line.y : 0;
    if (previous && (gap > usual * 1.5 || gap < 0) && current.length > 0) {
      paragraphs.push(current.join(" "));
      current = [];
    }
    current.push(line.text);
  });
  if (current.length > 0) paragraphs.push(current.join(" "));
  return paragraphs.map(normalizeWhitespace).filter((paragraph) => paragraph.length > 0);
}
