// Markdown to blocks: ATX and setext headings, paragraphs, list items, block quotes and fenced code.
// Inline syntax (links, emphasis, code spans, images, HTML tags) is reduced to its visible text.
// A YAML front-matter `title:` wins over the first heading as the document title.
import { type DocumentBlock, normalizeWhitespace, type ParsedDocument } from "../parsed-document.ts";

export function parseMarkdown(markdown: string): ParsedDocument {
  const lines = markdown.replace(/^\uFEFF/, "").split(/\r?\n/);
  const blocks: DocumentBlock[] = [];
  let frontMatterTitle: string | undefined;
  let paragraph: string[] = [];
  const flush = () => {
    const text = normalizeWhitespace(stripInlineMarkdown(paragraph.join(" ")));
    if (text) blocks.push({ kind: "paragraph", text });
    paragraph = [];
  };

  let index = 0;
  if (lines[0]?.trim() === "---") {
    const end = lines.findIndex((line, position) => position > 0 && /^(---|\.\.\.)\s*$/.test(line));
    if (end > 0) {
      for (const line of lines.slice(1, end)) {
        const match = /^title:\s*(.+)$/.exec(line);
        if (match?.[1]) frontMatterTitle = match[1].trim().replace(/^["']|["']$/g, "");
      }
      index = end + 1;
    }
  }

  for (; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    const fence = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence?.[1]) {
      flush();
      const marker = fence[1];
      const code: string[] = [];
      for (
        index += 1;
        index < lines.length && !(lines[index] ?? "").trimStart().startsWith(marker);
        index += 1
      )
        code.push(lines[index] ?? "");
      const text = code.join("\n").trim();
      if (text) blocks.push({ kind: "paragraph", text });
      continue;
    }
    const atx = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (atx?.[1]) {
      flush();
      const text = normalizeWhitespace(stripInlineMarkdown(atx[2] ?? ""));
      if (text) blocks.push({ kind: "heading", level: atx[1].length, text });
      continue;
    }
    const next = lines[index + 1];
    if (paragraph.length === 0 && line.trim() && next !== undefined && /^\s{0,3}(=+|-+)\s*$/.test(next)) {
      const text = normalizeWhitespace(stripInlineMarkdown(line));
      blocks.push({ kind: "heading", level: next.trim().startsWith("=") ? 1 : 2, text });
      index += 1;
      continue;
    }
    if (!line.trim() || /^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      continue;
    }
    // A list item starts a new block so that lists chunk item by item.
    if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) flush();
    paragraph.push(line.replace(/^\s*(>\s*)+/, "").replace(/^\s*([-*+]|\d+[.)])\s+/, ""));
  }
  flush();

  const firstHeading = blocks.find((block) => block.kind === "heading");
  return {
    item: "",
    title: frontMatterTitle ?? firstHeading?.text ?? "",
    format: "markdown",
    blocks,
  };
}

function stripInlineMarkdown(text: string): string {
  return text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, "$1")
    .replace(/<[^>]+>/g, " ")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|[\s(])[*_]([^*_\s][^*_]*?)[*_](?=[\s).,;:!?]|$)/g, "$1$2")
    .replace(/\\([\\`*_{}[\]()#+\-.!])/g, "$1");
}
