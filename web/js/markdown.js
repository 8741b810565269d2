// A small, safe Markdown renderer for model output. Safety comes from construction, not filtering:
// every piece of the input becomes a text node or the text of an element made here with
// createElement, so no character of model output is ever parsed as HTML. Links keep only http(s)
// URLs. Supports paragraphs (line breaks kept), fenced code blocks (also unterminated, as while
// streaming), headings, flat bullet and numbered lists, inline code, strong, emphasis and links.

const fencePattern = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const headingPattern = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const bulletPattern = /^\s{0,3}[-*+]\s+(.*)$/;
const numberPattern = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
/**
 * One alternative per inline construct; the first to match at a position wins. Groups: 1-2 code
 * span, 3-4 link, 5-6 strong, 7-8 emphasis, 9 bare URL.
 */
const inlinePattern =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\[([^\]\n]+)\]\(\s*([^)\s]+)\s*\)|(\*\*|__)(?=\S)([\s\S]+?\S)\5|(\*|\b_)(?=\S)([^*\n]*?[^\s*])(?:\*|_\b)|(https?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?)\]])/g;

/**
 * @param {string} markdown
 * @returns {DocumentFragment}
 */
export function renderMarkdown(markdown) {
  const fragment = document.createDocumentFragment();
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  /** @type {string[]} */
  let paragraph = [];
  /** @type {HTMLOListElement | HTMLUListElement | null} */
  let list = null;

  const closeParagraph = () => {
    if (paragraph.length === 0) return;
    const p = document.createElement("p");
    paragraph.forEach((line, index) => {
      if (index > 0) p.append(document.createElement("br"));
      appendInline(p, line);
    });
    fragment.append(p);
    paragraph = [];
  };
  const closeBlocks = () => {
    closeParagraph();
    list = null;
  };

  for (let index = 0; index < lines.length; index++) {
    const line = /** @type {string} */ (lines[index]);
    const fence = fencePattern.exec(line);
    if (fence) {
      closeBlocks();
      const marker = /** @type {string} */ (fence[1]);
      /** @type {string[]} */
      const code = [];
      index++;
      while (index < lines.length && !isClosingFence(/** @type {string} */ (lines[index]), marker)) {
        code.push(/** @type {string} */ (lines[index]));
        index++;
      }
      fragment.append(createCodeBlock(code.join("\n"), fence[2] ?? ""));
      continue;
    }
    if (line.trim() === "") {
      closeBlocks();
      continue;
    }
    const heading = headingPattern.exec(line);
    if (heading) {
      closeBlocks();
      // Messages sit under the page's own headings, so "#" starts at h3.
      const level = Math.min(6, 2 + /** @type {string} */ (heading[1]).length);
      const element = document.createElement(`h${level}`);
      appendInline(element, heading[2] ?? "");
      fragment.append(element);
      continue;
    }
    const bullet = bulletPattern.exec(line);
    const numbered = bullet ? null : numberPattern.exec(line);
    if (bullet || numbered) {
      closeParagraph();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = document.createElement(tag);
        if (numbered && numbered[1] !== "1") list.setAttribute("start", String(Number(numbered[1])));
        fragment.append(list);
      }
      const item = document.createElement("li");
      appendInline(item, (bullet ? bullet[1] : numbered?.[2]) ?? "");
      list.append(item);
      continue;
    }
    if (list && /^\s{2,}\S/.test(line) && paragraph.length === 0) {
      // An indented line continues the last list item.
      const last = list.lastElementChild;
      if (last) {
        last.append(document.createElement("br"));
        appendInline(last, line.trim());
        continue;
      }
    }
    list = null;
    paragraph.push(line);
  }
  closeBlocks();
  return fragment;
}

/**
 * Appends the inline content of one line (or span) to `parent` as text nodes and elements.
 * @param {Node} parent
 * @param {string} text
 */
export function appendInline(parent, text) {
  let position = 0;
  for (const match of text.matchAll(inlinePattern)) {
    const start = match.index ?? 0;
    if (start > position) parent.appendChild(document.createTextNode(text.slice(position, start)));
    parent.appendChild(createInlineNode(match));
    position = start + match[0].length;
  }
  if (position < text.length) parent.appendChild(document.createTextNode(text.slice(position)));
}

/**
 * @param {RegExpMatchArray} match
 * @returns {Node}
 */
function createInlineNode(match) {
  if (match[1] !== undefined) {
    const code = document.createElement("code");
    code.textContent = /** @type {string} */ (match[2]).replace(/^ (.*) $/, "$1");
    return code;
  }
  if (match[3] !== undefined) {
    const href = toSafeHref(/** @type {string} */ (match[4]));
    if (!href) return document.createTextNode(match[0]);
    return createLink(href, match[3]);
  }
  if (match[5] !== undefined) {
    const strong = document.createElement("strong");
    appendInline(strong, /** @type {string} */ (match[6]));
    return strong;
  }
  if (match[7] !== undefined) {
    const emphasis = document.createElement("em");
    appendInline(emphasis, /** @type {string} */ (match[8]));
    return emphasis;
  }
  const url = /** @type {string} */ (match[9]);
  const href = toSafeHref(url);
  return href ? createLink(href, null, url) : document.createTextNode(url);
}

/**
 * @param {string} href an already checked http(s) URL
 * @param {string | null} markdownLabel label to render as inline Markdown
 * @param {string} [plainLabel] label to show as is
 */
function createLink(href, markdownLabel, plainLabel = "") {
  const link = document.createElement("a");
  link.href = href;
  link.rel = "noopener noreferrer nofollow";
  link.target = "_blank";
  if (markdownLabel === null) link.textContent = plainLabel;
  else appendInline(link, markdownLabel);
  return link;
}

/**
 * The URL if it is an absolute http or https URL, otherwise null (javascript:, data:, relative...).
 * @param {string} candidate
 * @returns {string | null}
 */
export function toSafeHref(candidate) {
  if (!/^https?:\/\//i.test(candidate)) return null;
  try {
    const url = new URL(candidate);
    const isWeb = url.protocol === "http:" || url.protocol === "https:";
    // Quotes, angle brackets and spaces have no business in a link a model writes.
    return isWeb && !/["'<>`\s]/.test(url.href) ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} line
 * @param {string} marker the opening fence
 */
function isClosingFence(line, marker) {
  const trimmed = line.trim();
  return trimmed.startsWith(marker) && /^(`+|~+)$/.test(trimmed) && trimmed[0] === marker[0];
}

/**
 * @param {string} code
 * @param {string} language
 */
function createCodeBlock(code, language) {
  const pre = document.createElement("pre");
  const element = document.createElement("code");
  if (language) pre.dataset.language = language;
  // Long lines scroll sideways; a focusable block can be scrolled from the keyboard.
  pre.tabIndex = 0;
  element.textContent = code;
  pre.append(element);
  return pre;
}
