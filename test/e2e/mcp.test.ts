// End to end: the MCP server through the official SDK client, over both transports: stdio (spawning
// `ostrom mcp` on a prepared data directory) and streamable HTTP at /mcp on the real server. Lists
// the tools and calls each one, including `ask` on the tiny generated model.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../src/config/load-config.ts";
import { ingestContent } from "../../src/knowledge/ingest-documents.ts";
import { openKnowledgeService } from "../../src/runtime/open-knowledge-service.ts";
import { openStore } from "../../src/runtime/open-store.ts";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { createTempDir, getTinyModelPath } from "../helpers/test-models.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Creates the `handbook` knowledge base with one CC-BY document in a data directory. */
async function prepareKnowledge(dataDir: string): Promise<void> {
  const config = loadConfig({ args: { "data-dir": dataDir }, env: {} });
  using knowledge = openKnowledgeService(config);
  knowledge.store.createKnowledgeBase("handbook", { description: "HR handbook" });
  const outcome = await ingestContent(
    knowledge.store,
    "handbook",
    {
      source: "leave.md",
      fileName: "leave.md",
      content: Buffer.from("# Parental leave\n\nParental leave lasts sixteen weeks for every parent.\n"),
    },
    { license: "CC-BY-4.0", attribution: "HR department" },
  );
  assert.equal(outcome.status, "added");
}

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

/** The same checks over either transport. */
async function exerciseTools(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool) => tool.name).sort(), [
    "ask",
    "list_knowledge_bases",
    "search_knowledge",
  ]);

  const listed = await client.callTool({ name: "list_knowledge_bases", arguments: {} });
  assert.match(textOf(listed), /handbook: 1 documents — HR handbook/);

  const found = await client.callTool({
    name: "search_knowledge",
    arguments: { kb: "handbook", query: "parental leave", limit: 3 },
  });
  assert.equal(found.isError, undefined);
  const results = (
    found.structuredContent as { results: { title: string; license: string; score: number }[] }
  ).results;
  assert.equal(results[0]?.title, "Parental leave");
  assert.equal(results[0]?.license, "CC-BY-4.0");
  assert.ok((results[0]?.score ?? 0) > 0);
  assert.match(textOf(found), /license: CC-BY-4.0 · HR department/);

  const missing = await client.callTool({ name: "search_knowledge", arguments: { kb: "nope", query: "x" } });
  assert.equal(missing.isError, true);
  assert.match(textOf(missing), /knowledge_base_not_found/);

  const answered = await client.callTool({
    name: "ask",
    arguments: { kb: "handbook", question: "How long is parental leave?" },
  });
  assert.equal(answered.isError, undefined, textOf(answered));
  assert.match(textOf(answered), /Sources:\n\[1\] Parental leave — leave\.md · Parental leave/);
  assert.match(textOf(answered), /license: CC-BY-4\.0 · HR department/);
  const structured = answered.structuredContent as {
    model: string;
    sources: { index: number; license: string }[];
  };
  assert.equal(structured.model, "tiny:latest");
  assert.deepEqual(
    structured.sources.map((source) => [source.index, source.license]),
    [[1, "CC-BY-4.0"]],
  );
}

describe("MCP over streamable HTTP on the server", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ "tiny:latest": await getTinyModelPath() }, { "default-model": "tiny" });
    await prepareKnowledge(server.dataDir);
  });
  after(async () => {
    await server?.shutdown();
  });

  test("lists and calls the tools", async () => {
    const client = new Client({ name: "ostrom-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    try {
      await exerciseTools(client);
    } finally {
      await client.close();
    }
  });

  test("GET /mcp is refused: the endpoint is stateless", async () => {
    const response = await fetch(`${server.url}/mcp`, { headers: { accept: "text/event-stream" } });
    assert.equal(response.status, 405);
  });
});

describe("MCP over stdio (ostrom mcp)", () => {
  let dataDir: string;
  before(async () => {
    dataDir = await createTempDir("ostrom-mcp-");
    const store = await openStore(loadConfig({ args: { "data-dir": dataDir }, env: {} }));
    await store.importFile(await getTinyModelPath(), { name: "tiny:latest" });
    await prepareKnowledge(dataDir);
  });

  test("lists and calls the tools", async () => {
    const client = new Client({ name: "ostrom-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          "--import",
          "tsx",
          path.join(repoRoot, "src/cli/ostrom.ts"),
          "mcp",
          "--data-dir",
          dataDir,
          "--default-model",
          "tiny",
          "--threads",
          "1",
          "--log-level",
          "error",
        ],
        cwd: repoRoot,
        stderr: "pipe",
      }),
    );
    try {
      await exerciseTools(client);
    } finally {
      await client.close();
    }
  });
});
