import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import type { Embedder } from "./embedder.ts";
import { createHashingEmbedder } from "./hashing-embedder.ts";
import { KnowledgeSearch } from "./knowledge-search.ts";
import { type KnowledgeStore, KnowledgeStore as Store } from "./knowledge-store.ts";

/** Writes generated documents straight through the store (ingestion has its own tests). */
async function createCorpus(
  store: KnowledgeStore,
  documents: { item: string; title: string; text: string }[],
  embedder?: Embedder,
): Promise<void> {
  const kb = store.createKnowledgeBase("corpus");
  const vectors = embedder
    ? await embedder.embed(documents.map((document) => `${document.title}\n\n${document.text}`))
    : [];
  if (embedder) store.setEmbeddingModel(kb.id, embedder.model, vectors[0]?.length ?? 0);
  store.writeDocuments(
    kb.id,
    documents.map((document, index) => ({
      source: "generated",
      item: document.item,
      title: document.title,
      format: "text",
      checksum: String(index),
      bytes: document.text.length,
      license: "MIT",
      attribution: "Tests",
      chunks: [
        {
          location: "",
          text: document.text,
          heading: document.title,
          tokenEstimate: 10,
          ...(embedder ? { vector: normalize(vectors[index] ?? []) } : {}),
        },
      ],
    })),
  );
}

function normalize(values: number[]): Float32Array {
  const norm = Math.hypot(...values) || 1;
  return Float32Array.from(values, (value) => value / norm);
}

const filler = ["river", "stone", "cloud", "field", "road", "window", "bread", "candle", "paper", "garden"];

/** Documents of filler words, with "falcon" appearing in some of them a known number of times. */
function generateDocuments(): { item: string; title: string; text: string }[] {
  return Array.from({ length: 40 }, (_, index) => {
    const words = Array.from(
      { length: 30 },
      (_, position) => filler[(index * 7 + position * 3) % filler.length] ?? "",
    );
    if (index === 5) words.splice(3, 0, "falcon", "falcon", "falcon");
    if (index === 9) words.splice(3, 0, "falcon");
    if (index === 12) words.push(...Array.from({ length: 200 }, () => "padding"), "falcon");
    return {
      item: `doc${index}`,
      title: index === 20 ? "Falcon handbook" : `Document ${index}`,
      text: words.join(" "),
    };
  });
}

test("BM25 ranks by term frequency, rarity and length, and titles count", async () => {
  using database = openSqliteDatabase(":memory:");
  const store = Store.open(database);
  await createCorpus(store, generateDocuments());
  const search = new KnowledgeSearch(store);
  const hits = await search.search("corpus", "falcon", { limit: 10 });
  assert.deepEqual(
    hits.map((hit) => hit.item),
    ["doc5", "doc20", "doc9", "doc12"],
  );
  assert.ok(hits.every((hit, index) => index === 0 || (hits[index - 1]?.score ?? 0) >= hit.score));
  assert.deepEqual(
    hits.map((hit) => hit.rank),
    [1, 2, 3, 4],
  );
  assert.equal(hits[0]?.license, "MIT");
  assert.equal(hits[0]?.attribution, "Tests");
  assert.equal(hits[0]?.lexicalScore, hits[0]?.score);
  // The rare word outweighs a common one.
  const mixed = await search.search("corpus", "river falcon", { limit: 3 });
  assert.equal(mixed[0]?.item, "doc5");
  assert.deepEqual(await search.search("corpus", "zebra"), []);
  assert.deepEqual(await search.search("corpus", "the of and"), []);
  await assert.rejects(search.search("corpus", "falcon", { limit: 0 }), (error) =>
    isOstromError(error, "invalid_parameter"),
  );
  await assert.rejects(search.search("missing", "falcon"), (error) =>
    isOstromError(error, "knowledge_base_not_found"),
  );
});

test("dense and hybrid search use the embedder's vectors; mismatches are refused", async () => {
  using database = openSqliteDatabase(":memory:");
  const store = Store.open(database);
  const embedder = createHashingEmbedder(64);
  await createCorpus(store, generateDocuments(), embedder);
  const search = new KnowledgeSearch(store);
  const dense = await search.search("corpus", "Falcon handbook", { mode: "dense", embedder, limit: 3 });
  assert.deepEqual(
    dense
      .map((hit) => hit.item)
      .slice(0, 2)
      .sort(),
    ["doc20", "doc5"],
  );
  assert.ok((dense[0]?.denseScore ?? 0) > 0);
  assert.equal(dense[0]?.score, dense[0]?.denseScore);
  assert.equal(dense[0]?.lexicalScore, undefined);
  const hybrid = await search.search("corpus", "falcon", { embedder, limit: 5 });
  assert.ok(hybrid.every((hit) => hit.score > 0));
  assert.ok(hybrid.some((hit) => hit.lexicalScore !== undefined && hit.denseScore !== undefined));
  const linear = await search.search("corpus", "falcon", {
    embedder,
    fusion: { method: "linear", weights: [1, 0] },
    limit: 4,
  });
  assert.deepEqual(
    linear.map((hit) => hit.item),
    ["doc5", "doc20", "doc9", "doc12"],
  );
  await assert.rejects(
    search.search("corpus", "falcon", { mode: "dense", embedder: createHashingEmbedder(32) }),
    (error) => isOstromError(error, "invalid_parameter"),
  );
  await assert.rejects(search.search("corpus", "falcon", { mode: "dense" }), (error) =>
    isOstromError(error, "invalid_parameter"),
  );
});

test("onePerDocument keeps the best chunk of each document", async () => {
  using database = openSqliteDatabase(":memory:");
  const store = Store.open(database);
  const kb = store.createKnowledgeBase("kb");
  const chunk = (text: string) => ({ location: "", text, heading: "", tokenEstimate: 5 });
  store.writeDocuments(kb.id, [
    {
      source: "a.txt",
      item: "",
      title: "A",
      format: "text",
      checksum: "1",
      bytes: 1,
      license: "unspecified",
      attribution: "",
      chunks: [chunk("heron heron heron"), chunk("heron once")],
    },
    {
      source: "b.txt",
      item: "",
      title: "B",
      format: "text",
      checksum: "2",
      bytes: 1,
      license: "unspecified",
      attribution: "",
      chunks: [chunk("heron heron")],
    },
  ]);
  const search = new KnowledgeSearch(store);
  assert.deepEqual(
    (await search.search("kb", "heron")).map((hit) => hit.title),
    ["A", "B", "A"],
  );
  assert.deepEqual(
    (await search.search("kb", "heron", { onePerDocument: true })).map((hit) => [hit.title, hit.text]),
    [
      ["A", "heron heron heron"],
      ["B", "heron heron"],
    ],
  );
});
