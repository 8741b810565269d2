import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { assessOpenness } from "./assess-openness.ts";
import { loadProvenanceCatalog } from "./catalog.ts";
import { createCycloneDxBom, toLicenseChoices } from "./cyclonedx-bom.ts";
import { createLicenseValue, type GgufEvidence, mergeProvenance } from "./provenance-record.ts";
import { knownLicenses } from "./spdx.ts";

// The official CycloneDX 1.6 JSON schema (strict: no unknown properties), shipped with the library.
const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
const validate = async (bom: unknown) => validator.validate(JSON.stringify(bom));

const digest = `sha256:${"ab".repeat(32)}`;
const gguf: GgufEvidence = {
  summary: {
    architecture: "llama",
    name: "SmolLM2 135M Instruct",
    parameterCount: 134_515_008,
    tensorBytes: 1,
    tensorCount: 1,
    quantization: "Q8_0",
    contextLength: 8192,
    embeddingLength: 576,
    blockCount: 30,
    headCount: 9,
    headCountKv: 3,
    vocabularySize: 49152,
    chatTemplate: null,
    license: "apache-2.0",
    provenance: {
      "general.license": "apache-2.0",
      "general.quantized_by": "bartowski",
      "general.base_model.count": 1,
      "general.base_model.0.name": "SmolLM2 135M",
      "general.base_model.0.organization": "HuggingFaceTB",
      "general.base_model.0.repo_url": "https://huggingface.co/HuggingFaceTB/SmolLM2-135M",
    },
    fileSize: 144_000_000,
    isEmbeddingModel: false,
  },
  digest,
  path: "/models/smollm2.gguf",
  readAt: "2026-11-24T00:00:00.000Z",
};

test("a BOM for a catalogued GGUF validates against the CycloneDX 1.6 schema", async () => {
  const catalog = await loadProvenanceCatalog();
  const record = mergeProvenance(gguf, catalog.find("SmolLM2-135M-Instruct")?.facts);
  const bom = createCycloneDxBom(record, {
    assessment: assessOpenness(record),
    timestamp: "2026-11-24T00:00:00.000Z",
    toolVersion: "0.1.0",
  });
  assert.equal(await validate(bom), null);
  const model = bom.metadata.component;
  assert.equal(model.type, "machine-learning-model");
  assert.deepEqual(model.hashes, [{ alg: "SHA-256", content: "ab".repeat(32) }]);
  assert.deepEqual(model.licenses, [
    { license: { id: "Apache-2.0", url: "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct" } },
  ]);
  assert.deepEqual(
    model.pedigree?.ancestors.map((ancestor) => ancestor.name),
    ["HuggingFaceTB/SmolLM2-135M"],
  );
  assert.deepEqual(
    bom.components.map((component) => [component.type, component.name]),
    [
      ["data", "HuggingFaceTB/smoltalk"],
      ["data", "HuggingFaceFW/fineweb-edu"],
    ],
  );
  assert.deepEqual(model.modelCard?.modelParameters?.datasets, [{ ref: "dataset-1" }, { ref: "dataset-2" }]);
  assert.ok(model.properties?.some((property) => property.name === "ostrom:osaid-1.0"));
});

test("a BOM from the GGUF alone (base model from its metadata) validates", async () => {
  const bom = createCycloneDxBom(mergeProvenance(gguf), { timestamp: "2026-11-24T00:00:00.000Z" });
  assert.equal(await validate(bom), null);
  assert.equal(bom.metadata.component.pedigree?.ancestors[0]?.supplier?.name, "HuggingFaceTB");
  assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/);
});

test("every catalog model gives a valid BOM", async () => {
  const catalog = await loadProvenanceCatalog();
  for (const model of catalog.models) {
    const record = mergeProvenance(undefined, model.facts);
    const result = await validate(createCycloneDxBom(record, { assessment: assessOpenness(record) }));
    assert.equal(result, null, `${model.record.release.name}: ${JSON.stringify(result)}`);
  }
});

test("licenses: SPDX ids, expressions for LicenseRef and compounds, names for unrecognised text", async () => {
  assert.deepEqual(toLicenseChoices(createLicenseValue("llama3.2")), [
    { expression: "LicenseRef-Llama-3.2-Community" },
  ]);
  assert.deepEqual(toLicenseChoices(createLicenseValue("MIT OR Apache-2.0")), [
    { expression: "MIT OR Apache-2.0" },
  ]);
  assert.deepEqual(toLicenseChoices(createLicenseValue("Acme Terms", "https://acme.example/terms")), [
    { license: { name: "Acme Terms", url: "https://acme.example/terms" } },
  ]);
  assert.deepEqual(toLicenseChoices(createLicenseValue("other")), []);
  assert.deepEqual(toLicenseChoices(null), []);
  // Every SPDX id in Ostrom's license table is on the SPDX list the schema enforces.
  const require = createRequire(import.meta.url);
  const spdxSchema = JSON.parse(
    await readFile(
      path.join(
        path.dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")),
        "res/schema/spdx.SNAPSHOT.schema.json",
      ),
      "utf8",
    ),
  ) as { enum: string[] };
  for (const facts of knownLicenses) {
    if (!facts.id.startsWith("LicenseRef-")) assert.ok(spdxSchema.enum.includes(facts.id), facts.id);
  }
});
