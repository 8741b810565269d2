import assert from "node:assert/strict";
import { test } from "node:test";
import { chunkDocument, estimateTokens, formatChunkLocation } from "./chunk-document.ts";
import type { DocumentBlock } from "./parsed-document.ts";

const sentence = (index: number) => `Sentence ${index} has exactly eight words in it.`;

test("token estimates follow words and characters, and count CJK characters one each", () => {
  assert.equal(estimateTokens("one two three four five six seven eight nine ten"), 13);
  assert.equal(estimateTokens("supercalifragilisticexpialidocious"), 9);
  assert.equal(estimateTokens("日本語の文章"), 6);
});

test("a heading starts a new chunk and is recorded as the chunk's location", () => {
  const blocks: DocumentBlock[] = [
    { kind: "paragraph", text: "Preface text." },
    { kind: "heading", level: 1, text: "Methods" },
    { kind: "paragraph", text: "We sampled." },
    { kind: "heading", level: 2, text: "Sampling" },
    { kind: "paragraph", text: "Randomly.", page: 3 },
    { kind: "heading", level: 1, text: "Results" },
    { kind: "paragraph", text: "It worked." },
  ];
  const chunks = chunkDocument(blocks);
  assert.deepEqual(
    chunks.map((chunk) => [chunk.text, formatChunkLocation(chunk)]),
    [
      ["Preface text.", ""],
      ["We sampled.", "Methods"],
      ["Randomly.", "p. 3 · Methods › Sampling"],
      ["It worked.", "Results"],
    ],
  );
  assert.deepEqual(
    chunks.map((chunk) => chunk.ordinal),
    [0, 1, 2, 3],
  );
});

test("long sections are cut within the budget, at paragraph then sentence boundaries, with overlap", () => {
  const paragraph = Array.from({ length: 12 }, (_, index) => sentence(index)).join(" ");
  const chunks = chunkDocument([{ kind: "paragraph", text: paragraph }], {
    maxTokens: 40,
    overlapTokens: 12,
  });
  assert.ok(chunks.length > 3);
  for (const chunk of chunks) {
    assert.ok(chunk.tokenEstimate <= 40, `${chunk.tokenEstimate} tokens`);
    assert.match(chunk.text, /^Sentence \d+/);
  }
  // Each chunk after the first starts with the last sentence of the one before.
  for (let index = 1; index < chunks.length; index += 1) {
    const previous = chunks[index - 1]?.text.split("\n\n") ?? [];
    assert.equal(chunks[index]?.text.split("\n\n")[0], previous[previous.length - 1]);
  }
  // Every sentence is in some chunk.
  for (let index = 0; index < 12; index += 1)
    assert.ok(chunks.some((chunk) => chunk.text.includes(sentence(index))));
});

test("a single huge word-run is cut into windows; without overlap nothing repeats", () => {
  const words = Array.from({ length: 300 }, (_, index) => `w${index}`).join(" ");
  const chunks = chunkDocument([{ kind: "paragraph", text: words }], { maxTokens: 64, overlapTokens: 0 });
  assert.ok(chunks.every((chunk) => chunk.tokenEstimate <= 64));
  assert.equal(
    chunks
      .map((chunk) => chunk.text)
      .join(" ")
      .replace(/\s+/g, " "),
    words,
  );
});

test("headings without paragraphs produce no empty chunks", () => {
  assert.deepEqual(chunkDocument([{ kind: "heading", level: 1, text: "Only a title" }]), []);
});
