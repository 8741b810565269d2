// End to end: knowledge bases over HTTP on the real server (real SQLite under the data dir, real
// engine on the generated tiny llama): create, multipart upload, list, search, grounded chat through
// the official `openai` client (the `knowledge` extension field and the `kb:<name>` model alias,
// streaming and not) with sources, licenses and excluded sources, upload errors, delete.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type OpenAI from "openai";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { getTinyModelPath } from "../helpers/test-models.ts";

let server: TestServer;
const uploadLimit = 64 * 1024;

before(async () => {
  server = await startTestServer(
    { "tiny:latest": await getTinyModelPath() },
    {
      "knowledge-excluded-licenses": "CC-BY-NC-*",
      "max-upload-bytes": String(uploadLimit),
      "default-model": "tiny",
    },
  );
});

after(async () => {
  await server?.shutdown();
});

interface SourceJson {
  index: number;
  title: string;
  location: string;
  text: string;
  score: number;
  license: string;
  attribution: string;
  knowledge_base: string;
  document_id: number;
}

interface ExcludedJson {
  title: string;
  source: string;
  license: string;
  attribution: string;
  knowledge_base: string;
  document_id: number;
}

type Grounded = { sources?: SourceJson[]; excluded_sources?: ExcludedJson[] };

// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary JSON bodies and assert on them.
type Json = any;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${server.url}/v1${path}`, {
    method,
    ...(body === undefined
      ? {}
      : body instanceof FormData
        ? { body }
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  return { status: response.status, json: await response.json() };
}

function form(files: Record<string, string | Uint8Array>, fields: Record<string, string> = {}): FormData {
  const data = new FormData();
  for (const [name, content] of Object.entries(files)) data.append("file", new Blob([content]), name);
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

const question = "How many weeks of parental leave does a parent get?";

/** Every source is a stored document under an allowed license, numbered 1…n. */
function assertSources(grounded: Grounded): SourceJson[] {
  const sources = grounded.sources ?? [];
  assert.ok(sources.length > 0, "the answer is grounded in sources");
  assert.deepEqual(
    sources.map((source) => source.index),
    sources.map((_, position) => position + 1),
  );
  const leave = sources.find((source) => source.title === "Parental leave");
  assert.ok(leave, "the leave policy is a source");
  assert.equal(leave.license, "CC-BY-4.0");
  assert.equal(leave.attribution, "HR department");
  assert.equal(leave.knowledge_base, "handbook");
  assert.match(leave.text, /sixteen weeks/);
  assert.ok(leave.score > 0);
  assert.ok(
    !sources.some((source) => source.license.startsWith("CC-BY-NC")),
    "excluded licenses never ground",
  );
  const excluded = grounded.excluded_sources ?? [];
  assert.equal(excluded.length, 1, "the non-commercial draft is reported as excluded");
  assert.equal(excluded[0]?.title, "Draft leave policy");
  assert.equal(excluded[0]?.license, "CC-BY-NC-4.0");
  assert.equal(excluded[0]?.attribution, "Works council");
  return sources;
}

describe("knowledge bases over HTTP", () => {
  test("create, list and refuse bad names and duplicates", async () => {
    const created = await call("POST", "/knowledge-bases", { name: "handbook", description: "HR handbook" });
    assert.equal(created.status, 201);
    assert.equal(created.json.name, "handbook");
    assert.equal(created.json.documents, 0);
    const duplicate = await call("POST", "/knowledge-bases", { name: "handbook" });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.json.error.code, "knowledge_base_exists");
    const bad = await call("POST", "/knowledge-bases", { name: "no spaces allowed" });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, "name");
    const unknownModel = await call("POST", "/knowledge-bases", { name: "other", model: "nope" });
    assert.equal(unknownModel.status, 404);
    assert.equal(unknownModel.json.error.code, "model_not_found");
    const listed = await call("GET", "/knowledge-bases");
    assert.deepEqual(
      listed.json.data.map((kb: { name: string }) => kb.name),
      ["handbook"],
      "a refused creation leaves nothing behind",
    );
  });

  test("upload: documents are added with license and attribution; bad files are reported by name", async () => {
    const uploaded = await call(
      "POST",
      "/knowledge-bases/handbook/documents",
      form(
        {
          "leave.md": "# Parental leave\n\nParental leave lasts sixteen weeks for every parent.\n",
          "outline.md": "# Onboarding\n\n## First week\n",
          "broken.pdf": "%PDF-1.7 this is not really a PDF",
          "tool.exe": new Uint8Array([0x4d, 0x5a, 0, 1, 2, 3]),
        },
        { license: "CC-BY-4.0", attribution: "HR department" },
      ),
    );
    assert.equal(uploaded.status, 200);
    const byFile = new Map(uploaded.json.data.map((item: { file: string }) => [item.file, item]));
    assert.deepEqual(byFile.get("leave.md"), { file: "leave.md", title: "Parental leave", status: "added" });
    assert.equal(
      (byFile.get("outline.md") as { status: string }).status,
      "added",
      "headings-only Markdown is accepted",
    );
    const broken = byFile.get("broken.pdf") as { status: string; error: { code: string; message: string } };
    assert.equal(broken.status, "failed");
    assert.equal(broken.error.code, "document_unparseable");
    assert.match(broken.error.message, /broken\.pdf/);
    const tool = byFile.get("tool.exe") as { status: string; error: { code: string } };
    assert.equal(tool.status, "failed");
    assert.equal(tool.error.code, "document_unsupported");

    const draft = await call(
      "POST",
      "/knowledge-bases/handbook/documents",
      form(
        {
          "leave-draft.md": "# Draft leave policy\n\nA draft says parental leave could last twenty weeks.\n",
        },
        { license: "CC-BY-NC-4.0", attribution: "Works council" },
      ),
    );
    assert.equal(draft.json.data[0].status, "added");
    const again = await call(
      "POST",
      "/knowledge-bases/handbook/documents",
      form(
        {
          "leave-draft.md": "# Draft leave policy\n\nA draft says parental leave could last twenty weeks.\n",
        },
        { license: "CC-BY-NC-4.0", attribution: "Works council" },
      ),
    );
    assert.equal(again.json.data[0].status, "unchanged");
  });

  test("upload errors: a bad license or no file changes nothing; an oversized upload gets 413", async () => {
    const before = (await call("GET", "/knowledge-bases/handbook/documents")).json.data.length;
    const badLicense = await call(
      "POST",
      "/knowledge-bases/handbook/documents",
      form({ "a.txt": "some text here" }, { license: "not a license!" }),
    );
    assert.equal(badLicense.status, 400);
    assert.equal(badLicense.json.error.param, "license");
    const noFile = await call("POST", "/knowledge-bases/handbook/documents", form({}, { license: "MIT" }));
    assert.equal(noFile.status, 400);
    assert.equal(noFile.json.error.param, "file");
    const huge = await call(
      "POST",
      "/knowledge-bases/handbook/documents",
      form({ "huge.txt": "word ".repeat(uploadLimit / 4) }),
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, "request_too_large");
    const missing = await call("POST", "/knowledge-bases/nope/documents", form({ "a.txt": "text" }));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "knowledge_base_not_found");
    assert.equal((await call("GET", "/knowledge-bases/handbook/documents")).json.data.length, before);
  });

  test("documents are listed with their terms and sizes", async () => {
    const listed = await call("GET", "/knowledge-bases/handbook/documents");
    assert.equal(listed.status, 200);
    const leave = listed.json.data.find((document: { source: string }) => document.source === "leave.md");
    assert.equal(leave.title, "Parental leave");
    assert.equal(leave.format, "markdown");
    assert.equal(leave.license, "CC-BY-4.0");
    assert.equal(leave.attribution, "HR department");
    assert.equal(leave.chunks, 1);
    assert.ok(leave.bytes > 0);
    assert.ok(typeof leave.id === "number");
    assert.ok(!Number.isNaN(Date.parse(leave.ingested_at)));
    assert.deepEqual(listed.json.data.map((document: { source: string }) => document.source).sort(), [
      "leave-draft.md",
      "leave.md",
      "outline.md",
    ]);
  });

  test("search returns ranked passages with real scores, license and attribution", async () => {
    const found = await call("POST", "/knowledge-bases/handbook/search", {
      query: "parental leave weeks",
      limit: 5,
    });
    assert.equal(found.status, 200);
    const [first] = found.json.data;
    assert.equal(first.rank, 1);
    assert.ok(first.score > 0);
    assert.match(first.location, /leave/);
    assert.ok(["CC-BY-4.0", "CC-BY-NC-4.0"].includes(first.license));
    assert.ok(typeof first.document_id === "number");
    for (const hit of found.json.data) assert.ok(hit.score > 0, "scores are real values");
    const bad = await call("POST", "/knowledge-bases/handbook/search", { query: "" });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, "query");
  });

  test("GET /v1/models lists the kb: alias", async () => {
    const page = await server.client.models.list();
    assert.ok(page.data.some((model) => model.id === "kb:handbook"));
    assert.ok(page.data.some((model) => model.id === "tiny:latest"));
    assert.equal((await server.client.models.retrieve("kb:handbook")).owned_by, "knowledge");
  });
});

describe("grounded chat through the openai client", () => {
  const knowledge = { bases: ["handbook"], top_k: 3 };

  test("the knowledge extension field: sources and excluded sources on the response", async () => {
    const completion = (await server.client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: question }],
      max_tokens: 4,
      temperature: 0,
      knowledge,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming)) as OpenAI.ChatCompletion & Grounded;
    assert.equal(completion.model, "tiny:latest");
    assert.equal(completion.choices[0]?.message.role, "assistant");
    const sources = assertSources(completion);
    assert.ok(sources.length <= 3);
    assert.ok(completion.usage!.prompt_tokens > 40, "the sources are in the prompt");
  });

  test("the kb:<name> alias works for an unmodified client, streaming: sources come first", async () => {
    const stream = await server.client.chat.completions.create({
      model: "kb:handbook",
      messages: [{ role: "user", content: question }],
      max_tokens: 4,
      temperature: 0,
      stream: true,
    });
    const chunks: (OpenAI.ChatCompletionChunk & Grounded)[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const [first, ...rest] = chunks;
    assert.deepEqual(first?.choices, [], "the sources chunk has no choices");
    assert.equal(first?.model, "tiny:latest", "answered by the server's default model");
    assertSources(first ?? {});
    assert.ok(rest.length > 0);
    assert.ok(
      rest.every((chunk) => chunk.sources === undefined),
      "sources are sent once",
    );
    assert.equal(rest[0]?.choices[0]?.delta.role, "assistant");
    assert.ok(rest.some((chunk) => chunk.choices[0]?.finish_reason));
  });

  test("the kb:<name> alias through the Ollama API: sources on the final object, streamed or not", async () => {
    for (const stream of [false, true]) {
      const response = await fetch(`${server.url}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "kb:handbook",
          messages: [{ role: "user", content: question }],
          stream,
          options: { num_predict: 4, temperature: 0 },
        }),
      });
      assert.equal(response.status, 200);
      const lines = (await response.text()).trim().split("\n");
      const objects = lines.map((line) => JSON.parse(line) as Grounded & { done: boolean; model: string });
      const last = objects.at(-1);
      assert.equal(last?.done, true);
      assert.equal(last?.model, "tiny:latest");
      assertSources(last ?? {});
      assert.ok(objects.slice(0, -1).every((object) => object.sources === undefined));
    }
  });

  test("the kb:<name> alias without streaming", async () => {
    const completion = (await server.client.chat.completions.create({
      model: "kb:handbook",
      messages: [{ role: "user", content: question }],
      max_tokens: 4,
      temperature: 0,
    })) as OpenAI.ChatCompletion & Grounded;
    assertSources(completion);
  });

  test("the knowledge field with streaming", async () => {
    const stream = await server.client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: question }],
      max_tokens: 4,
      stream: true,
      knowledge,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const chunks: (OpenAI.ChatCompletionChunk & Grounded)[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.deepEqual(chunks[0]?.choices, []);
    assertSources(chunks[0] ?? {});
  });

  test("bad knowledge requests name the parameter", async () => {
    const badTopK = await call("POST", "/chat/completions", {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      knowledge: { bases: ["handbook"], top_k: 0 },
    });
    assert.equal(badTopK.status, 400);
    assert.equal(badTopK.json.error.param, "knowledge.top_k");
    const noBases = await call("POST", "/chat/completions", {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      knowledge: { bases: [] },
    });
    assert.equal(noBases.status, 400);
    assert.equal(noBases.json.error.param, "knowledge.bases");
    const unknownBase = await call("POST", "/chat/completions", {
      model: "kb:nope",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(unknownBase.status, 404);
    assert.equal(unknownBase.json.error.code, "knowledge_base_not_found");
  });
});

describe("a knowledge base with an embedding model", () => {
  test("uploads get vectors from the engine and search is hybrid", async () => {
    const created = await call("POST", "/knowledge-bases", { name: "dense", embedding_model: "tiny" });
    assert.equal(created.status, 201);
    assert.equal(created.json.embedding_model, "tiny:latest");
    const uploaded = await call(
      "POST",
      "/knowledge-bases/dense/documents",
      form({
        "whales.md": "# Whales\n\nBlue whales are the largest animals.\n",
        "trees.md": "# Trees\n\nSequoias are the tallest trees.\n",
      }),
    );
    assert.deepEqual(
      uploaded.json.data.map((item: { status: string }) => item.status),
      ["added", "added"],
    );
    // No word of this query is in any document: BM25 finds nothing, so every hit is the dense retriever's.
    const found = await call("POST", "/knowledge-bases/dense/search", { query: "zyzzyva qwxv", limit: 5 });
    assert.equal(found.status, 200);
    assert.equal(found.json.data.length, 2, "dense retrieval ranks every embedded chunk");
    for (const hit of found.json.data) assert.ok(hit.score > 0);
    const lexical = await call("POST", "/knowledge-bases/handbook/search", { query: "zyzzyva qwxv" });
    assert.deepEqual(lexical.json.data, [], "a lexical-only knowledge base finds nothing for it");
    assert.equal((await call("DELETE", "/knowledge-bases/dense")).status, 200);
  });
});

describe("deleting", () => {
  test("a document, then the knowledge base", async () => {
    const documents = (await call("GET", "/knowledge-bases/handbook/documents")).json.data as {
      id: number;
      source: string;
    }[];
    const draft = documents.find((document) => document.source === "leave-draft.md");
    assert.ok(draft);
    const deleted = await call("DELETE", `/knowledge-bases/handbook/documents/${draft.id}`);
    assert.equal(deleted.status, 200);
    const again = await call("DELETE", `/knowledge-bases/handbook/documents/${draft.id}`);
    assert.equal(again.status, 404);
    assert.equal(again.json.error.code, "document_not_found");
    const found = await call("POST", "/knowledge-bases/handbook/search", { query: "draft twenty weeks" });
    assert.ok(!found.json.data.some((hit: { document_id: number }) => hit.document_id === draft.id));

    assert.equal((await call("DELETE", "/knowledge-bases/handbook")).status, 200);
    assert.equal((await call("GET", "/knowledge-bases/handbook/documents")).status, 404);
    assert.deepEqual((await call("GET", "/knowledge-bases")).json.data, []);
  });
});
