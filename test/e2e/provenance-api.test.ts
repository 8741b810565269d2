// End to end: provenance through the API — summaries in /v1/models, provenance headers on every
// answer, the AI bill of materials, and a serving policy that refuses a model naming the failed rule.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { createRandomLlamaGguf } from "../../src/gguf/create-random-llama.ts";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { createTempDir } from "../helpers/test-models.ts";

let server: TestServer;

before(async () => {
  const dir = await createTempDir("ostrom-provenance-");
  const openFile = path.join(dir, "open.gguf");
  const restrictedFile = path.join(dir, "restricted.gguf");
  await createRandomLlamaGguf(openFile, {
    name: "Open tiny",
    extraMetadata: [["general.license", { type: "string", value: "mit" }]],
  });
  await createRandomLlamaGguf(restrictedFile, {
    name: "Restricted tiny",
    seed: 2,
    extraMetadata: [["general.license", { type: "string", value: "llama3.2" }]],
  });
  const policyFile = path.join(dir, "policy.json");
  await writeFile(policyFile, JSON.stringify({ requireOsiApprovedLicense: true }));
  server = await startTestServer(
    { "open:latest": openFile, "restricted:latest": restrictedFile },
    { policy: policyFile },
  );
});

after(async () => {
  await server?.shutdown();
});

test("/v1/models carries each model's license and openness summary", async () => {
  const response = await fetch(`${server.url}/v1/models`);
  const body = (await response.json()) as {
    data: Array<{ id: string; provenance: { license: string; mof_class: string; osaid: string } }>;
  };
  const byId = new Map(body.data.map((model) => [model.id, model.provenance]));
  assert.equal(byId.get("open:latest")?.license, "MIT");
  assert.match(byId.get("restricted:latest")!.license, /^LicenseRef-/);
  assert.equal(typeof byId.get("open:latest")?.mof_class, "string");
});

test("answers carry the served model's digest, license and MOF class in headers", async () => {
  const { data, response } = await server.client.completions
    .create({ model: "open", prompt: "x", max_tokens: 2 })
    .withResponse();
  assert.equal(data.object, "text_completion");
  const entry = await server.store.resolve("open");
  assert.equal(response.headers.get("x-ostrom-model-digest"), entry.digest);
  assert.equal(response.headers.get("x-ostrom-model-license"), "MIT");
  assert.ok(response.headers.get("x-ostrom-mof-class"));

  const stream = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "open",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
      stream: true,
    }),
  });
  assert.equal(stream.headers.get("x-ostrom-model-digest"), entry.digest, "streams carry them too");
  await stream.text();
});

test("a model failing the serving policy is refused with 403 naming the rule, and never loaded", async () => {
  await assert.rejects(
    server.client.chat.completions.create({
      model: "restricted",
      messages: [{ role: "user", content: "hi" }],
    }),
    (error: unknown) =>
      error instanceof OpenAI.PermissionDeniedError &&
      (error.error as { code?: string }).code === "policy_violation" &&
      /requireOsiApprovedLicense/.test(error.message),
  );
  const health = (await (await fetch(`${server.url}/health`)).json()) as {
    loaded_models: Array<{ ref: string }>;
  };
  assert.ok(!health.loaded_models.some((model) => model.ref === "restricted:latest"));
});

test("GET /v1/models/{model}/bom returns a CycloneDX 1.6 bill of materials", async () => {
  const response = await fetch(`${server.url}/v1/models/open:latest/bom`);
  assert.equal(response.status, 200);
  const bom = (await response.json()) as {
    bomFormat: string;
    specVersion: string;
    metadata: { component: { type: string; hashes: Array<{ alg: string; content: string }> } };
  };
  assert.equal(bom.bomFormat, "CycloneDX");
  assert.equal(bom.specVersion, "1.6");
  const model = bom.metadata.component;
  assert.equal(model.type, "machine-learning-model");
  const entry = await server.store.resolve("open");
  assert.deepEqual(model.hashes[0], { alg: "SHA-256", content: entry.digest.slice("sha256:".length) });
});
