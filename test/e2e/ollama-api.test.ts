// End to end: the Ollama-compatible endpoints on the real server and engine, as Ollama clients call
// them (NDJSON streaming by default, `stream: false` for one object).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { getTinyModelPath, maxReportedTokens } from "../helpers/test-models.ts";

let server: TestServer;

before(async () => {
  server = await startTestServer({ "tiny:latest": await getTinyModelPath() });
});

after(async () => {
  await server?.shutdown();
});

async function post(path: string, body: object) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

test("GET /api/tags lists the store", async () => {
  const body = (await (await fetch(`${server.url}/api/tags`)).json()) as {
    models: Array<{ name: string; digest: string }>;
  };
  assert.deepEqual(
    body.models.map((model) => model.name),
    ["tiny:latest"],
  );
  assert.match(body.models[0]!.digest, /^[0-9a-f]{64}$/);
});

test("POST /api/chat streams NDJSON ending in a done chunk with counts", async () => {
  const response = await post("/api/chat", {
    model: "tiny",
    messages: [{ role: "user", content: "hi" }],
    options: { num_predict: 6, temperature: 0 },
  });
  assert.equal(response.headers.get("content-type"), "application/x-ndjson");
  const lines = (await response.text())
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const last = lines.at(-1)!;
  assert.equal(last.done, true);
  assert.ok(["stop", "length"].includes(String(last.done_reason)));
  assert.ok(
    Number(last.eval_count) >= 1 && Number(last.eval_count) <= maxReportedTokens(6),
    String(last.eval_count),
  );
  assert.ok(
    lines
      .slice(0, -1)
      .every(
        (line) => line.done === false && typeof (line.message as { content: string }).content === "string",
      ),
  );

  const single = (await (
    await post("/api/chat", {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      options: { num_predict: 6, temperature: 0 },
      stream: false,
    })
  ).json()) as { message: { content: string }; done: boolean };
  const streamed = lines.map((line) => (line.message as { content: string }).content).join("");
  assert.equal(single.message.content, streamed, "the same greedy answer, streamed or not");
});

test("POST /api/generate completes raw prompts and honours format json", async () => {
  const raw = (await (
    await post("/api/generate", {
      model: "tiny",
      prompt: "once",
      raw: true,
      stream: false,
      options: { num_predict: 4 },
    })
  ).json()) as {
    response: string;
    eval_count: number;
  };
  assert.equal(typeof raw.response, "string");
  assert.ok(raw.eval_count <= maxReportedTokens(4), String(raw.eval_count));
  const json = (await (
    await post("/api/generate", {
      model: "tiny",
      prompt: "a person",
      stream: false,
      format: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
      options: { num_predict: 40, temperature: 0.5, seed: 1 },
    })
  ).json()) as { response: string };
  assert.equal(typeof (JSON.parse(json.response) as { ok: unknown }).ok, "boolean");
});

test("POST /api/embed returns one vector per input; errors use the same error shape", async () => {
  const body = (await (await post("/api/embed", { model: "tiny", input: ["a", "b"] })).json()) as {
    embeddings: number[][];
  };
  assert.equal(body.embeddings.length, 2);
  assert.equal(body.embeddings[0]!.length, 64);
  const missing = await post("/api/chat", { model: "ghost", messages: [{ role: "user", content: "x" }] });
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "model_not_found");
});
