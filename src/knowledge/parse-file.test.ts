import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateSync } from "node:zlib";
import { isOstromError } from "../errors.ts";
import { createTestDocx } from "./fixtures/create-test-docx.ts";
import { createTestPdf } from "./fixtures/create-test-pdf.ts";
import { detectFormat, parseFileContent } from "./parse-file.ts";
import { parseBeirRecord } from "./parsers/read-beir-jsonl.ts";

const headings = (blocks: { kind: string; text: string }[]) =>
  blocks.filter((block) => block.kind === "heading").map((block) => block.text);
const paragraphs = (blocks: { kind: string; text: string }[]) =>
  blocks.filter((block) => block.kind === "paragraph").map((block) => block.text);

test("HTML keeps the main content and drops navigation, header, footer, aside, scripts and styles", () => {
  const html = `<!doctype html><html><head><title>Tides &amp; Moon</title><style>p { color: red }</style>
    <script>var menu = "<p>not text</p>";</script></head><body>
    <header><nav><a href="/">Home</a> <a href="/about">About us</a></nav></header>
    <div class="layout"><aside>Related: cookie policy</aside>
    <main><h1>Tides</h1><p>The moon&#8217;s gravity <b>pulls</b> the oceans.<br>Twice a day.</p>
    <h2>Spring tides</h2><ul><li>New moon</li><li>Full moon</li></ul>
    <div hidden>secret</div><form><button>Subscribe</button></form></main></div>
    <footer>© 2024 Example — all rights reserved</footer></body></html>`;
  const parsed = parseFileContent("html", Buffer.from(html), "tides.html");
  assert.equal(parsed.title, "Tides & Moon");
  assert.deepEqual(headings(parsed.blocks), ["Tides", "Spring tides"]);
  assert.deepEqual(paragraphs(parsed.blocks), [
    "The moon’s gravity pulls the oceans. Twice a day.",
    "New moon",
    "Full moon",
  ]);
  const all = parsed.blocks.map((block) => block.text).join(" ");
  for (const chrome of [
    "Home",
    "About us",
    "cookie",
    "rights reserved",
    "not text",
    "color",
    "secret",
    "Subscribe",
  ])
    assert.ok(!all.includes(chrome), chrome);
});

test("HTML without <main> keeps the body minus chrome", () => {
  const parsed = parseFileContent(
    "html",
    Buffer.from("<body><nav>Menu</nav><h1>Title</h1><p>Body text</p><footer>Footer</footer></body>"),
    "page.html",
  );
  assert.deepEqual(
    parsed.blocks.map((block) => block.text),
    ["Title", "Body text"],
  );
});

test("Markdown: front matter title, ATX and setext headings, lists, code and inline syntax", () => {
  const markdown = [
    "---",
    'title: "Field guide"',
    "---",
    "# Birds",
    "",
    "Some **bold** and _italic_ text with a [link](https://example.org) and `code`.",
    "",
    "Owls",
    "----",
    "",
    "- barn owl",
    "- snowy owl",
    "",
    "```",
    "const x = 1;",
    "```",
  ].join("\n");
  const parsed = parseFileContent("markdown", Buffer.from(markdown), "guide.md");
  assert.equal(parsed.title, "Field guide");
  assert.deepEqual(headings(parsed.blocks), ["Birds", "Owls"]);
  assert.deepEqual(paragraphs(parsed.blocks), [
    "Some bold and italic text with a link and code.",
    "barn owl",
    "snowy owl",
    "const x = 1;",
  ]);
});

test("plain text splits paragraphs on blank lines and has no title of its own", () => {
  const parsed = parseFileContent(
    "text",
    Buffer.from("First line\ncontinues.\r\n\r\nSecond paragraph."),
    "notes.txt",
  );
  assert.equal(parsed.title, "");
  assert.deepEqual(paragraphs(parsed.blocks), ["First line continues.", "Second paragraph."]);
});

test("PDF: text of every page with page numbers, compressed or not, WinAnsi or ToUnicode fonts", () => {
  const pages = [
    ["Rivers carry sediment to the sea (mostly silt).", "Deltas form where they slow down."],
    ["Page two: café"],
  ];
  for (const options of [{ title: "Rivers" }, { uncompressed: true }, { unicodeFont: true }]) {
    const parsed = parseFileContent("pdf", createTestPdf(pages, options), "rivers.pdf");
    assert.deepEqual(
      parsed.blocks.map((block) => [block.text, block.page]),
      [
        ["Rivers carry sediment to the sea (mostly silt).", 1],
        ["Deltas form where they slow down.", 1],
        ["Page two: café", 2],
      ],
      JSON.stringify(options),
    );
    if ("title" in options) assert.equal(parsed.title, "Rivers");
  }
});

test("PDF: truncated, encrypted and image-only files are unparseable with a reason", () => {
  const pdf = createTestPdf([["Hello world"]]);
  const cases: [Buffer, RegExp][] = [
    [pdf.subarray(0, 40), /no PDF objects|no pages/],
    [Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Encrypt 2 0 R >>"), /encrypted/],
    [Buffer.from("not a pdf at all"), /not a PDF/],
    [
      Buffer.concat([
        Buffer.from(
          "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] >> endobj\n",
        ),
        Buffer.from("3 0 obj << /Type /Page /Contents 4 0 R >> endobj\n"),
        Buffer.from(`4 0 obj << /Length 9 /Filter /FlateDecode >> stream\n`),
        deflateSync(Buffer.from("q Q")),
        Buffer.from("\nendstream endobj\n"),
      ]),
      /no extractable text/,
    ],
  ];
  for (const [content, reason] of cases) {
    assert.throws(
      () => parseFileContent("pdf", content, "bad.pdf"),
      (error) =>
        isOstromError(error, "document_unparseable") &&
        reason.test(error.message) &&
        error.message.includes("bad.pdf"),
    );
  }
});

test("DOCX: title from core properties, heading styles, runs joined, entities decoded", () => {
  const docx = createTestDocx(
    [
      { text: "Annual report", style: "Title" },
      { text: "Summary", style: "Heading1" },
      { text: "Revenue grew by 5% & costs fell <slightly>." },
      { text: "Outlook", style: "Heading2" },
      { text: "Stable." },
    ],
    "Report 2024",
  );
  const parsed = parseFileContent("docx", docx, "report.docx");
  assert.equal(parsed.title, "Report 2024");
  assert.deepEqual(
    parsed.blocks.map((block) => (block.kind === "heading" ? `h${block.level}:${block.text}` : block.text)),
    [
      "h1:Annual report",
      "h1:Summary",
      "Revenue grew by 5% & costs fell <slightly>.",
      "h2:Outlook",
      "Stable.",
    ],
  );
  assert.throws(
    () => parseFileContent("docx", Buffer.from("PK\u0003\u0004 broken"), "broken.docx"),
    (error) => isOstromError(error, "document_unparseable") && error.message.includes("broken.docx"),
  );
});

test("BEIR records: id, title and text; bad records give a reason", () => {
  const parsed = parseBeirRecord('{"_id":"d1","title":"Topic","text":"First.\\n\\nSecond.","metadata":{}}');
  assert.ok(typeof parsed !== "string");
  assert.equal(parsed.item, "d1");
  assert.equal(parsed.title, "Topic");
  assert.deepEqual(paragraphs(parsed.blocks), ["First.", "Second."]);
  assert.equal(parseBeirRecord("{not json"), "not valid JSON");
  assert.equal(parseBeirRecord('{"title":"x","text":"y"}'), "missing `_id`");
  assert.equal(parseBeirRecord('{"_id":"x"}'), "missing `text`");
});

test("formats are detected from the extension, and PDFs from their magic bytes", () => {
  assert.equal(detectFormat("a/b/NOTES.MD"), "markdown");
  assert.equal(detectFormat("x.htm"), "html");
  assert.equal(detectFormat("corpus.jsonl"), "beir-jsonl");
  assert.equal(detectFormat("scan.bin", Buffer.from("%PDF-1.7")), "pdf");
  assert.equal(detectFormat("photo.png"), undefined);
});
