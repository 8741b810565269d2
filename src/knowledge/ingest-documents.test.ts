import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { isOstromError } from "../errors.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { createTestDocx } from "./fixtures/create-test-docx.ts";
import { createTestPdf } from "./fixtures/create-test-pdf.ts";
import { ingestPaths } from "./ingest-documents.ts";
import { KnowledgeSearch } from "./knowledge-search.ts";
import { KnowledgeStore } from "./knowledge-store.ts";

let folder: string;
before(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), "ostrom-ingest-"));
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function openStore(): { database: SqlDatabase; store: KnowledgeStore } {
  const database = openSqliteDatabase(":memory:");
  return { database, store: KnowledgeStore.open(database) };
}

function countFtsRows(database: SqlDatabase, knowledgeBaseId: number): number {
  // A contentless FTS5 table has no row count of its own: count the chunks it still matches.
  return (
    database
      .prepare<{ n: number }>(`SELECT count(*) AS n FROM kb_fts_${knowledgeBaseId}_vocab WHERE doc > 0`)
      .get()?.n ?? 0
  );
}

async function writeFixtures(into: string): Promise<void> {
  await mkdir(path.join(into, "sub"), { recursive: true });
  await mkdir(path.join(into, ".hidden"), { recursive: true });
  await writeFile(path.join(into, "notes.txt"), "Glaciers carve valleys.\n\nThey move slowly.");
  await writeFile(path.join(into, "guide.md"), "# Volcanoes\n\nMagma rises through the crust.\n");
  await writeFile(
    path.join(into, "page.html"),
    "<html><head><title>Deserts</title></head><body><nav>Home | Contact</nav><main><h1>Deserts</h1><p>Dunes shift with the wind.</p></main><footer>Copyright</footer></body></html>",
  );
  await writeFile(
    path.join(into, "sub", "report.pdf"),
    createTestPdf([["Coral reefs bleach in warm water."]], { title: "Reefs" }),
  );
  await writeFile(
    path.join(into, "sub", "memo.docx"),
    createTestDocx(
      [{ text: "Rainforests", style: "Heading1" }, { text: "Canopies hold most species." }],
      "Forests",
    ),
  );
  await writeFile(
    path.join(into, "corpus.jsonl"),
    [
      '{"_id":"d1","title":"Tundra","text":"Permafrost thaws in summer."}',
      "{broken",
      '{"_id":"d2","title":"","text":"Lichens grow on rocks."}',
    ].join("\n"),
  );
  await writeFile(path.join(into, "image.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(path.join(into, ".hidden", "secret.txt"), "not ingested");
}

test("a folder of every format is ingested with license and attribution; unsupported files in folders are skipped", async () => {
  const into = path.join(folder, "all");
  await writeFixtures(into);
  const { database, store } = openStore();
  try {
    store.createKnowledgeBase("earth");
    const report = await ingestPaths(store, "earth", [into], {
      license: "CC-BY-4.0",
      attribution: "Earth Society",
    });
    assert.equal(report.failed, 0, JSON.stringify(report.files.filter((file) => file.error)));
    assert.equal(report.files.length, 6);
    assert.deepEqual(report.documents, { added: 7, updated: 0, unchanged: 0, removed: 0 });
    const jsonl = report.files.find((file) => file.path.endsWith("corpus.jsonl"));
    assert.deepEqual(jsonl?.warnings, ["line 2: not valid JSON"]);
    const kb = store.getKnowledgeBase("earth");
    const documents = store.listDocuments(kb.id);
    assert.deepEqual(documents.map((document) => document.title).sort(), [
      "Deserts",
      "Forests",
      "Reefs",
      "Tundra",
      "Volcanoes",
      "d2",
      "notes",
    ]);
    for (const document of documents) {
      assert.equal(document.license, "CC-BY-4.0");
      assert.equal(document.attribution, "Earth Society");
      assert.match(document.checksum, /^[0-9a-f]{64}$/);
      assert.ok(document.chunkCount >= 1);
    }
    const search = new KnowledgeSearch(store);
    const expectations: [string, string][] = [
      ["glaciers valleys", "notes"],
      ["magma crust", "Volcanoes"],
      ["dunes wind", "Deserts"],
      ["coral bleaching", "Reefs"],
      ["canopy species", "Forests"],
      ["permafrost", "Tundra"],
      ["lichen rock", "d2"],
    ];
    for (const [query, title] of expectations) {
      const [hit] = await search.search("earth", query);
      assert.equal(hit?.title, title, query);
      assert.equal(hit?.license, "CC-BY-4.0");
      assert.equal(hit?.attribution, "Earth Society");
    }
    assert.equal(
      (await search.search("earth", "copyright contact home")).length,
      0,
      "page chrome is not indexed",
    );
    assert.equal((await search.search("earth", "coral"))[0]?.location, "p. 1");
    assert.equal((await search.search("earth", "canopies"))[0]?.location, "Rainforests");
  } finally {
    database.close();
  }
});

test("re-ingesting unchanged files is a no-op; a changed file replaces its chunks; new terms rewrite", async () => {
  const into = path.join(folder, "changes");
  await mkdir(into, { recursive: true });
  const file = path.join(into, "doc.md");
  await writeFile(file, "# Old\n\nThe old text about pumpkins.\n");
  const { database, store } = openStore();
  try {
    store.createKnowledgeBase("kb");
    const search = new KnowledgeSearch(store);
    await ingestPaths(store, "kb", [into]);
    const kb = store.getKnowledgeBase("kb");
    const [first] = store.listDocuments(kb.id);
    const again = await ingestPaths(store, "kb", [into]);
    assert.equal(again.files[0]?.status, "unchanged");
    assert.deepEqual(again.documents, { added: 0, updated: 0, unchanged: 1, removed: 0 });
    assert.equal(store.listDocuments(kb.id)[0]?.ingestedAt, first?.ingestedAt);

    await writeFile(file, "# New\n\nThe new text about turnips.\n\n## More\n\nAnd carrots.\n");
    const changed = await ingestPaths(store, "kb", [file]);
    assert.equal(changed.files[0]?.status, "updated");
    const [updated] = store.listDocuments(kb.id);
    assert.equal(updated?.id, first?.id);
    assert.notEqual(updated?.checksum, first?.checksum);
    assert.equal(updated?.chunkCount, 2);
    assert.equal((await search.search("kb", "pumpkins")).length, 0);
    assert.equal((await search.search("kb", "turnips"))[0]?.title, "New");
    assert.equal(store.getKnowledgeBase("kb").chunkCount, 2);
    assert.equal(countFtsRows(database, kb.id) > 0, true);

    const relicensed = await ingestPaths(store, "kb", [file], { license: "MIT" });
    assert.equal(relicensed.files[0]?.status, "updated");
    assert.equal(store.listDocuments(kb.id)[0]?.license, "MIT");
  } finally {
    database.close();
  }
});

test("a changed JSONL corpus updates changed records and removes vanished ones", async () => {
  const file = path.join(folder, "corpus-change.jsonl");
  await writeFile(file, '{"_id":"a","text":"alpha apples"}\n{"_id":"b","text":"beta bananas"}\n');
  const { database, store } = openStore();
  try {
    store.createKnowledgeBase("kb");
    await ingestPaths(store, "kb", [file]);
    await writeFile(file, '{"_id":"a","text":"alpha apricots"}\r\n{"_id":"c","text":"gamma grapes"}\r\n');
    const report = await ingestPaths(store, "kb", [file]);
    assert.deepEqual(report.documents, { added: 1, updated: 1, unchanged: 0, removed: 1 });
    const search = new KnowledgeSearch(store);
    assert.equal((await search.search("kb", "bananas")).length, 0);
    assert.equal((await search.search("kb", "apples")).length, 0);
    assert.equal((await search.search("kb", "apricots"))[0]?.item, "a");
  } finally {
    database.close();
  }
});

test("deleting a document removes its chunks and index entries; deleting the knowledge base removes all", async () => {
  const into = path.join(folder, "delete");
  await mkdir(into, { recursive: true });
  await writeFile(path.join(into, "one.txt"), "Otters hold hands.\n\nThey sleep floating.");
  await writeFile(path.join(into, "two.txt"), "Beavers build dams.");
  const { database, store } = openStore();
  try {
    store.createKnowledgeBase("kb");
    await ingestPaths(store, "kb", [into], { chunking: { maxTokens: 16, overlapTokens: 0 } });
    const kb = store.getKnowledgeBase("kb");
    const otters = store.listDocuments(kb.id).find((document) => document.title === "one");
    assert.ok(otters);
    store.deleteDocument(kb.id, otters.id);
    const search = new KnowledgeSearch(store);
    assert.equal((await search.search("kb", "otters floating")).length, 0);
    assert.equal(
      database
        .prepare<{ n: number }>("SELECT count(*) AS n FROM kb_chunks WHERE document_id = ?")
        .get(otters.id)?.n,
      0,
    );
    assert.equal(
      database
        .prepare<{ n: number }>(`SELECT count(*) AS n FROM kb_fts_${kb.id}_vocab WHERE term = 'otter'`)
        .get()?.n,
      0,
    );
    assert.equal(store.getKnowledgeBase("kb").documentCount, 1);
    assert.throws(
      () => store.deleteDocument(kb.id, otters.id),
      (error) => isOstromError(error, "document_not_found"),
    );

    store.deleteKnowledgeBase("kb");
    assert.equal(database.prepare<{ n: number }>("SELECT count(*) AS n FROM kb_chunks").get()?.n, 0);
    assert.equal(database.prepare<{ n: number }>("SELECT count(*) AS n FROM kb_documents").get()?.n, 0);
    assert.equal(
      database.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'kb_fts_%'").get(),
      undefined,
    );
    assert.throws(
      () => store.getKnowledgeBase("kb"),
      (error) => isOstromError(error, "knowledge_base_not_found"),
    );
  } finally {
    database.close();
  }
});

test("corrupt, oversized, unsupported and missing files fail by name with a code; the rest is ingested", async () => {
  const into = path.join(folder, "bad");
  await mkdir(into, { recursive: true });
  const files = {
    good: path.join(into, "good.txt"),
    corrupt: path.join(into, "corrupt.pdf"),
    brokenDocx: path.join(into, "broken.docx"),
    big: path.join(into, "big.txt"),
    unsupported: path.join(into, "photo.png"),
    missing: path.join(into, "missing.txt"),
    emptyJsonl: path.join(into, "empty.jsonl"),
  };
  await writeFile(files.good, "Hedgehogs eat beetles.");
  await writeFile(files.corrupt, createTestPdf([["Truncated"]]).subarray(0, 60));
  await writeFile(files.brokenDocx, "PK not really a zip");
  await writeFile(files.big, "x ".repeat(4000));
  await writeFile(files.unsupported, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(files.emptyJsonl, "{oops}\n");
  const { database, store } = openStore();
  try {
    store.createKnowledgeBase("kb");
    const report = await ingestPaths(store, "kb", Object.values(files), { maxFileBytes: 1000 });
    const codes = Object.fromEntries(
      report.files.map((file) => [path.basename(file.path), file.error?.code ?? file.status]),
    );
    assert.deepEqual(codes, {
      "good.txt": "added",
      "corrupt.pdf": "document_unparseable",
      "broken.docx": "document_unparseable",
      "big.txt": "document_too_large",
      "photo.png": "document_unsupported",
      "missing.txt": "document_unparseable",
      "empty.jsonl": "document_unparseable",
    });
    for (const file of report.files.filter((outcome) => outcome.error))
      assert.ok(file.error?.message.includes(path.basename(file.path)), file.error?.message);
    assert.equal(report.failed, 6);
    assert.equal((await new KnowledgeSearch(store).search("kb", "hedgehogs"))[0]?.title, "good");
  } finally {
    database.close();
  }
});

test("knowledge base names and licenses are validated", () => {
  const { database, store } = openStore();
  try {
    assert.throws(
      () => store.createKnowledgeBase("../etc"),
      (error) => isOstromError(error, "invalid_parameter"),
    );
    store.createKnowledgeBase("ok");
    assert.throws(
      () => store.createKnowledgeBase("ok"),
      (error) => isOstromError(error, "knowledge_base_exists"),
    );
    return assert.rejects(ingestPaths(store, "ok", [], { license: "not a license!" }), (error) =>
      isOstromError(error, "invalid_parameter"),
    );
  } finally {
    database.close();
  }
});

test("a Markdown document of headings only is accepted and found by its headings; an empty one fails", async () => {
  const { database, store } = openStore();
  try {
    store.createKnowledgeBase("outlines");
    const outline = path.join(folder, "outline.md");
    const empty = path.join(folder, "empty.md");
    await writeFile(outline, "# Onboarding\n\n## First week\n\n## Equipment\n");
    await writeFile(empty, "\n\n");
    const report = await ingestPaths(store, "outlines", [outline, empty]);
    const byPath = new Map(report.files.map((file) => [path.basename(file.path), file]));
    assert.equal(byPath.get("outline.md")?.status, "added");
    assert.equal(byPath.get("empty.md")?.status, "failed");
    assert.equal(byPath.get("empty.md")?.error?.code, "document_unparseable");
    const hits = await new KnowledgeSearch(store).search("outlines", "equipment");
    assert.equal(hits[0]?.title, "Onboarding");
  } finally {
    database.close();
  }
});
