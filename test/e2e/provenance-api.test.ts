// End to end: provenance through the API — summaries in /v1/models (with the policy verdict), the full
// record at /v1/models/{model}/provenance, provenance headers on every answer, the AI bill of
// materials, a serving policy that refuses a model naming the failed rule, an administrator's
// declaration taking effect on a running server, and a stored file changed on disk being refused.
import assert from "node:assert/strict";
import { open, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { createRandomLlamaGguf } from "../../src/gguf/create-random-llama.ts";
import { ProvenanceOverlayStore } from "../../src/provenance/provenance-overlay-store.ts";
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
  const correctedFile = path.join(dir, "corrected.gguf");
  await createRandomLlamaGguf(correctedFile, {
    name: "Mislabelled tiny",
    seed: 3,
    extraMetadata: [["general.license", { type: "string", value: "other" }]],
  });
  const fragileFile = path.join(dir, "fragile.gguf");
  await createRandomLlamaGguf(fragileFile, {
    name: "Fragile tiny",
    seed: 4,
    extraMetadata: [["general.license", { type: "string", value: "mit" }]],
  });
  const policyFile = path.join(dir, "policy.json");
  await writeFile(policyFile, JSON.stringify({ requireOsiApprovedLicense: true }));
  server = await startTestServer(
    {
      "open:latest": openFile,
      "restricted:latest": restrictedFile,
      "corrected:latest": correctedFile,
      "fragile:latest": fragileFile,
    },
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

test("/v1/models says whether each model may be served, with every failed rule", async () => {
  const body = (await (await fetch(`${server.url}/v1/models`)).json()) as {
    data: Array<{
      id: string;
      provenance: { servable: boolean; policy_failures: Array<{ rule: string; message: string }> };
    }>;
  };
  const byId = new Map(body.data.map((model) => [model.id, model.provenance]));
  assert.deepEqual(byId.get("open:latest"), {
    ...byId.get("open:latest"),
    servable: true,
    policy_failures: [],
  });
  const restricted = byId.get("restricted:latest")!;
  assert.equal(restricted.servable, false);
  assert.deepEqual(
    restricted.policy_failures.map((failure) => failure.rule),
    ["requireOsiApprovedLicense"],
  );
  assert.match(restricted.policy_failures[0]!.message, /OSI-approved/);
});

interface ProvenanceFactJson {
  value: unknown;
  source: string;
  url: string | null;
  date: string | null;
  overridden: unknown[];
}

interface ProvenanceJson {
  object: string;
  id: string;
  digest: string;
  record: Record<string, ProvenanceFactJson | null> & {
    components: Array<{ id: string; name: string; fact: ProvenanceFactJson | null }>;
  };
  assessment: {
    mof_class: number | null;
    mof_class_label: string;
    classes: Array<{ mof_class: number; percent: number; unmet: string[] }>;
    components: Array<{
      id: string;
      availability: string;
      verdict: string;
      counts: boolean;
      license: string | null;
      explanation: string;
    }>;
    osaid: {
      verdict: string;
      passes: boolean;
      criteria: Array<{ name: string; passed: boolean; reason: string }>;
    };
    flags: Array<{ code: string; message: string }>;
  };
  policy: { servable: boolean; failures: Array<{ rule: string; message: string }> };
}

test("GET /v1/models/{model}/provenance returns the record with sources, the assessment and the policy result", async () => {
  const response = await fetch(`${server.url}/v1/models/restricted/provenance`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as ProvenanceJson;
  const entry = await server.store.resolve("restricted");
  assert.equal(body.object, "model.provenance");
  assert.equal(body.id, "restricted:latest");
  assert.equal(body.digest, entry.digest);

  const license = body.record.license!;
  assert.equal(license.source, "gguf");
  assert.equal((license.value as { original: string }).original, "llama3.2");
  assert.match((license.value as { expression: string }).expression, /^LicenseRef-Llama-3\.2/);
  assert.ok(license.date !== null && !Number.isNaN(Date.parse(license.date)), "each fact has its date");
  assert.equal(body.record.digest?.value, entry.digest);
  assert.equal(body.record.file_size?.value, entry.size);
  assert.equal(body.record.signer, null, "facts no source states are null");
  assert.equal(body.record.components.length, 17);
  const weights = body.record.components.find((item) => item.id === "model-parameters-final")!;
  assert.equal(weights.fact?.source, "gguf");

  const { assessment } = body;
  assert.equal(assessment.components.length, 17);
  const assessedWeights = assessment.components.find((item) => item.id === "model-parameters-final")!;
  assert.equal(assessedWeights.availability, "available");
  assert.equal(assessedWeights.counts, false);
  assert.equal(assessedWeights.verdict, "restricted");
  assert.ok(assessedWeights.explanation.length > 0);
  assert.deepEqual(
    assessment.classes.map((progress) => progress.mof_class),
    [3, 2, 1],
  );
  assert.equal(assessment.mof_class, null);
  assert.equal(assessment.osaid.verdict, "fail");
  assert.ok(
    assessment.osaid.criteria.some((criterion) => criterion.name === "parameters" && !criterion.passed),
  );

  assert.equal(body.policy.servable, false);
  assert.equal(body.policy.failures[0]?.rule, "requireOsiApprovedLicense");

  const open = (await (
    await fetch(`${server.url}/v1/models/open:latest/provenance`)
  ).json()) as ProvenanceJson;
  assert.deepEqual(open.policy, { servable: true, failures: [] });
});

test("GET /v1/models/{unknown}/provenance is a 404 in the API's error shape", async () => {
  const response = await fetch(`${server.url}/v1/models/nope/provenance`);
  assert.equal(response.status, 404);
  const body = (await response.json()) as { error: { code: string } };
  assert.equal(body.error.code, "model_not_found");
});

test("an administrator's declaration takes effect on the running server, with source `declared`", async () => {
  const entry = await server.store.resolve("corrected");
  const before = (await (
    await fetch(`${server.url}/v1/models/corrected/provenance`)
  ).json()) as ProvenanceJson;
  assert.equal(before.policy.servable, false, "license `other` is not OSI-approved");

  // What `ostrom declare corrected fix.yml` does, from another process in real use.
  const overlays = new ProvenanceOverlayStore(server.dataDir);
  await overlays.writeDeclaration(
    entry.digest,
    "release:\n  license:\n    distribution: {name: Apache-2.0, path: https://example.org/LICENSE}\n" +
      "x-ostrom:\n  sources: {default: https://example.org/release-notes}\n",
    "fix.yml",
  );
  const after = (await (
    await fetch(`${server.url}/v1/models/corrected/provenance`)
  ).json()) as ProvenanceJson;
  const license = after.record.license!;
  assert.equal(license.source, "declared");
  assert.equal((license.value as { expression: string }).expression, "Apache-2.0");
  assert.equal(license.url, "https://example.org/release-notes");
  assert.ok(license.date !== null && !Number.isNaN(Date.parse(license.date)));
  assert.equal((license.overridden[0] as { source: string }).source, "gguf", "the GGUF's claim is kept");
  assert.deepEqual(after.policy, { servable: true, failures: [] });
  const { response } = await server.client.completions
    .create({ model: "corrected", prompt: "x", max_tokens: 1 })
    .withResponse();
  assert.equal(response.headers.get("x-ostrom-model-license"), "Apache-2.0");

  await overlays.clearDeclaration(entry.digest);
  const cleared = (await (
    await fetch(`${server.url}/v1/models/corrected/provenance`)
  ).json()) as ProvenanceJson;
  assert.equal(cleared.record.license?.source, "gguf");
  assert.equal(cleared.policy.servable, false);
});

test("a stored model whose file changed on disk is refused before it is loaded", async () => {
  const entry = await server.store.resolve("fragile");

  const { size, mtime, atime } = await stat(entry.path);
  const handle = await open(entry.path, "r+");
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, size - 1);
  byte[0] = byte[0]! ^ 0x01;
  await handle.write(byte, 0, 1, size - 1);
  await handle.close();
  await utimes(entry.path, atime, new Date(mtime.getTime() + 10_000));

  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fragile", messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
  });
  assert.equal(response.status, 500);
  const body = (await response.json()) as { error: { code: string; message: string; type: string } };
  assert.equal(body.error.code, "model_integrity_failed");
  assert.equal(body.error.type, "server_error");
  assert.match(body.error.message, /fragile:latest.*changed on disk/);
  assert.ok(!body.error.message.includes(entry.path), "the server's file paths stay in its log");
  const health = (await (await fetch(`${server.url}/health`)).json()) as {
    loaded_models: Array<{ ref: string }>;
  };
  assert.ok(!health.loaded_models.some((model) => model.ref === "fragile:latest"), "never loaded");
});
