import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ChatMessage } from "../engine/engine.ts";
import { isOstromError } from "../errors.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { groundChat } from "./ground-chat.ts";
import { ingestContent } from "./ingest-documents.ts";
import { KnowledgeSearch } from "./knowledge-search.ts";
import { KnowledgeStore } from "./knowledge-store.ts";
import { createLicenseRule } from "./license-rule.ts";

let database: SqlDatabase;
let search: KnowledgeSearch;

async function add(base: string, fileName: string, text: string, license: string, attribution: string) {
  const outcome = await ingestContent(
    store(),
    base,
    { source: fileName, fileName, content: Buffer.from(text) },
    { license, attribution },
  );
  assert.equal(outcome.status, "added", outcome.error?.message);
}

function store(): KnowledgeStore {
  return KnowledgeStore.open(database);
}

before(async () => {
  database = openSqliteDatabase(":memory:");
  store().createKnowledgeBase("handbook");
  store().createKnowledgeBase("wiki");
  await add(
    "handbook",
    "leave.md",
    "# Parental leave\n\nParental leave lasts sixteen weeks for every parent.\n",
    "CC-BY-4.0",
    "HR department",
  );
  await add(
    "handbook",
    "leave-draft.md",
    "# Draft leave policy\n\nA draft says parental leave could last twenty weeks.\n",
    "CC-BY-NC-4.0",
    "Works council",
  );
  await add("handbook", "expenses.txt", "Expenses are reimbursed within thirty days.\n", "MIT", "");
  await add(
    "wiki",
    "leave-faq.md",
    "# Leave FAQ\n\nAsk HR before your parental leave starts.\n",
    "",
    "Wiki team",
  );
  search = new KnowledgeSearch(store());
});

after(() => database.close());

const question: ChatMessage[] = [
  { role: "system", content: "You are the company assistant." },
  { role: "user", content: "Hello" },
  { role: "assistant", content: "Hi, how can I help?" },
  { role: "user", content: "How long is parental leave?" },
];

test("sources are numbered in rank order and carry license, attribution and location", async () => {
  const grounded = await groundChat(search, question, {
    bases: ["handbook"],
    topK: 4,
    licenseRule: createLicenseRule([]),
  });
  assert.equal(grounded.query, "How long is parental leave?");
  assert.deepEqual(
    grounded.sources.map((source) => source.index),
    grounded.sources.map((_, position) => position + 1),
  );
  const leave = grounded.sources.find((source) => source.source === "leave.md");
  assert.ok(leave, "the matching document is a source");
  assert.equal(leave.title, "Parental leave");
  assert.equal(leave.license, "CC-BY-4.0");
  assert.equal(leave.attribution, "HR department");
  assert.equal(leave.knowledgeBase, "handbook");
  assert.match(leave.location, /^leave\.md · Parental leave$/);
  assert.match(leave.text, /sixteen weeks/);
  assert.ok(leave.score > 0);
  assert.ok(!grounded.sources.some((source) => source.source === "expenses.txt"), "no match, no source");
  assert.deepEqual(grounded.excluded, []);
});

test("the system message lists each source under the number it is returned with", async () => {
  const grounded = await groundChat(search, question, {
    bases: ["handbook"],
    topK: 4,
    licenseRule: createLicenseRule([]),
  });
  const [system, ...rest] = grounded.messages;
  assert.equal(system?.role, "system");
  assert.ok(
    system?.content.startsWith("You are the company assistant.\n\n"),
    "the client's system text stays first",
  );
  assert.match(system?.content ?? "", /Cite the sources/);
  for (const source of grounded.sources) {
    const block = `[${source.index}] ${source.title} (${source.location})\n${source.text}`;
    assert.ok(system?.content.includes(block), `source ${source.index} appears under its number`);
  }
  assert.deepEqual(rest, question.slice(1), "the conversation itself is unchanged");
});

test("documents under an excluded license are left out and reported, and numbering has no gap", async () => {
  const grounded = await groundChat(search, question, {
    bases: ["handbook"],
    topK: 4,
    licenseRule: createLicenseRule(["CC-BY-NC-*"]),
  });
  assert.ok(!grounded.sources.some((source) => source.license === "CC-BY-NC-4.0"));
  assert.equal(grounded.excluded.length, 1);
  const [excluded] = grounded.excluded;
  assert.equal(excluded?.source, "leave-draft.md");
  assert.equal(excluded?.license, "CC-BY-NC-4.0");
  assert.equal(excluded?.attribution, "Works council");
  assert.match(excluded?.reason ?? "", /CC-BY-NC-\*/);
  assert.ok(
    !grounded.messages[0]?.content.includes("twenty weeks"),
    "the excluded text never reaches the model",
  );
  assert.deepEqual(
    grounded.sources.map((source) => source.index),
    grounded.sources.map((_, position) => position + 1),
  );
});

test("unspecified licenses are allowed and shown as such, unless the rule names them", async () => {
  const allowed = await groundChat(search, question, {
    bases: ["wiki"],
    topK: 2,
    licenseRule: createLicenseRule([]),
  });
  assert.equal(allowed.sources[0]?.license, "unspecified");
  const refused = await groundChat(search, question, {
    bases: ["wiki"],
    topK: 2,
    licenseRule: createLicenseRule(["unspecified"]),
  });
  assert.deepEqual(refused.sources, []);
  assert.equal(refused.excluded[0]?.license, "unspecified");
  assert.match(refused.messages[0]?.content ?? "", /does not contain the answer/);
});

test("several knowledge bases: sources of each, interleaved by rank, at most top_k", async () => {
  const grounded = await groundChat(search, question, {
    bases: ["handbook", "wiki"],
    topK: 2,
    licenseRule: createLicenseRule([]),
  });
  assert.equal(grounded.sources.length, 2);
  assert.deepEqual(grounded.sources.map((source) => source.knowledgeBase).sort(), ["handbook", "wiki"]);
});

test("bad input names its parameter", async () => {
  const rule = createLicenseRule([]);
  await assert.rejects(
    groundChat(search, question, { bases: ["missing"], topK: 2, licenseRule: rule }),
    (error: unknown) => isOstromError(error, "knowledge_base_not_found"),
  );
  await assert.rejects(
    groundChat(search, question, { bases: ["handbook"], topK: 0, licenseRule: rule }),
    (error: unknown) => isOstromError(error, "invalid_parameter") && error.param === "knowledge.top_k",
  );
  await assert.rejects(
    groundChat(search, [{ role: "system", content: "x" }], {
      bases: ["handbook"],
      topK: 2,
      licenseRule: rule,
    }),
    (error: unknown) => isOstromError(error, "invalid_parameter") && error.param === "messages",
  );
});
