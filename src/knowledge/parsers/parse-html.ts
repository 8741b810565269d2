// HTML to blocks, keeping the main content only. A forgiving tokenizer builds a light element tree;
// navigation chrome (nav, header, footer, aside, forms, scripts, styles, hidden elements and their
// ARIA equivalents) is dropped; if the page marks its content with <main> (or role="main") or
// <article>, only that is kept. Headings become heading blocks, block elements end paragraphs.
import { type DocumentBlock, normalizeWhitespace, type ParsedDocument } from "../parsed-document.ts";

interface HtmlElement {
  name: string;
  attributes: Map<string, string>;
  children: HtmlNode[];
}
type HtmlNode = HtmlElement | string;

const voidElements = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "param",
  "source",
  "track",
  "wbr",
]);
const rawTextElements = new Set(["script", "style", "textarea", "title", "noscript", "template", "xmp"]);
const droppedElements = new Set([
  "nav",
  "header",
  "footer",
  "aside",
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "form",
  "button",
  "iframe",
  "select",
  "canvas",
  "object",
  "dialog",
  "menu",
  "head",
]);
const droppedRoles = new Set([
  "navigation",
  "banner",
  "contentinfo",
  "complementary",
  "search",
  "menu",
  "menubar",
]);
const blockElements = new Set([
  "p",
  "div",
  "section",
  "article",
  "main",
  "li",
  "ul",
  "ol",
  "dl",
  "dd",
  "dt",
  "table",
  "tr",
  "thead",
  "tbody",
  "tfoot",
  "blockquote",
  "pre",
  "figure",
  "figcaption",
  "hr",
  "address",
  "details",
  "summary",
  "caption",
  "body",
  "html",
]);

export function parseHtml(html: string): ParsedDocument {
  const root = buildTree(html);
  const titleElement = findFirst(root, (element) => element.name === "title");
  const content = findAll(
    root,
    (element) => element.name === "main" || element.attributes.get("role") === "main",
  ) ??
    findAll(root, (element) => element.name === "article") ?? [root];
  const blocks: DocumentBlock[] = [];
  for (const element of content) collectBlocks(element, blocks);
  const title =
    (titleElement && normalizeWhitespace(textOf(titleElement))) ||
    blocks.find((block) => block.kind === "heading")?.text ||
    "";
  return { item: "", title, format: "html", blocks };
}

function buildTree(html: string): HtmlElement {
  const root: HtmlElement = { name: "#root", attributes: new Map(), children: [] };
  const stack: HtmlElement[] = [root];
  const current = () => stack[stack.length - 1] ?? root;
  let position = 0;
  while (position < html.length) {
    const open = html.indexOf("<", position);
    if (open === -1) {
      current().children.push(decodeEntities(html.slice(position)));
      break;
    }
    if (open > position) current().children.push(decodeEntities(html.slice(position, open)));
    if (html.startsWith("<!--", open)) {
      const end = html.indexOf("-->", open + 4);
      position = end === -1 ? html.length : end + 3;
      continue;
    }
    if (html[open + 1] === "!" || html[open + 1] === "?") {
      const end = html.indexOf(">", open);
      position = end === -1 ? html.length : end + 1;
      continue;
    }
    const tag = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/.exec(
      html.slice(open, open + 10_000),
    );
    if (!tag) {
      current().children.push("<");
      position = open + 1;
      continue;
    }
    position = open + tag[0].length;
    const name = (tag[2] ?? "").toLowerCase();
    if (tag[1] === "/") {
      const index = stack.findLastIndex((element) => element.name === name);
      if (index > 0) stack.length = index;
      continue;
    }
    const element: HtmlElement = { name, attributes: parseAttributes(tag[3] ?? ""), children: [] };
    // A new <p> or <li> implicitly closes an open one of the same kind.
    if ((name === "p" || name === "li") && current().name === name) stack.pop();
    current().children.push(element);
    if (rawTextElements.has(name)) {
      const close = html.toLowerCase().indexOf(`</${name}`, position);
      const end = close === -1 ? html.length : close;
      element.children.push(decodeEntities(html.slice(position, end)));
      const closeEnd = close === -1 ? -1 : html.indexOf(">", close);
      position = closeEnd === -1 ? html.length : closeEnd + 1;
      continue;
    }
    if (!voidElements.has(name) && !tag[3]?.trimEnd().endsWith("/")) stack.push(element);
  }
  return root;
}

function parseAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of source.matchAll(/([^\s=/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const name = match[1]?.toLowerCase();
    if (name) attributes.set(name, decodeEntities(match[2] ?? match[3] ?? match[4] ?? "").toLowerCase());
  }
  return attributes;
}

function isDropped(element: HtmlElement): boolean {
  return (
    droppedElements.has(element.name) ||
    droppedRoles.has(element.attributes.get("role") ?? "") ||
    element.attributes.has("hidden") ||
    element.attributes.get("aria-hidden") === "true"
  );
}

function findFirst(
  element: HtmlElement,
  predicate: (element: HtmlElement) => boolean,
): HtmlElement | undefined {
  for (const child of element.children) {
    if (typeof child === "string") continue;
    if (predicate(child)) return child;
    const found = findFirst(child, predicate);
    if (found) return found;
  }
  return undefined;
}

/** The outermost kept elements matching the predicate, or undefined when there are none. */
function findAll(root: HtmlElement, predicate: (element: HtmlElement) => boolean): HtmlElement[] | undefined {
  const found: HtmlElement[] = [];
  const visit = (element: HtmlElement) => {
    for (const child of element.children) {
      if (typeof child === "string" || isDropped(child)) continue;
      if (predicate(child)) found.push(child);
      else visit(child);
    }
  };
  visit(root);
  return found.length > 0 ? found : undefined;
}

function textOf(element: HtmlElement): string {
  return element.children.map((child) => (typeof child === "string" ? child : textOf(child))).join("");
}

function collectBlocks(root: HtmlElement, blocks: DocumentBlock[]): void {
  let buffer = "";
  const flush = () => {
    const text = normalizeWhitespace(buffer);
    if (text) blocks.push({ kind: "paragraph", text });
    buffer = "";
  };
  const visit = (element: HtmlElement) => {
    for (const child of element.children) {
      if (typeof child === "string") {
        buffer += child;
        continue;
      }
      if (isDropped(child)) continue;
      const heading = /^h([1-6])$/.exec(child.name);
      if (heading) {
        flush();
        const text = normalizeWhitespace(textOf(child));
        if (text) blocks.push({ kind: "heading", level: Number(heading[1]), text });
        continue;
      }
      if (child.name === "td" || child.name === "th" || child.name === "br") buffer += " ";
      const isBlock = blockElements.has(child.name);
      if (isBlock) flush();
      visit(child);
      if (isBlock) flush();
    }
  };
  visit(root);
  flush();
}

const namedEntities: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  laquo: "«",
  raquo: "»",
  copy: "©",
  reg: "®",
  trade: "™",
  deg: "°",
  middot: "·",
  bull: "•",
  euro: "€",
  pound: "£",
  sect: "§",
  times: "×",
  eacute: "é",
  egrave: "è",
  agrave: "à",
  aacute: "á",
  ccedil: "ç",
  ouml: "ö",
  uuml: "ü",
  auml: "ä",
  szlig: "ß",
  ntilde: "ñ",
  iacute: "í",
  oacute: "ó",
  uacute: "ú",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, entity: string) => {
    if (entity.startsWith("#")) {
      const code =
        entity[1] === "x" || entity[1] === "X"
          ? Number.parseInt(entity.slice(2), 16)
          : Number(entity.slice(1));
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return namedEntities[entity.toLowerCase()] ?? whole;
  });
}
