import assert from "node:assert/strict";
import { test } from "node:test";
import type { GgufSummary } from "../gguf/summarize-gguf.ts";
import {
  type Fact,
  getGgufFacts,
  hasConflict,
  type LicenseValue,
  mergeProvenance,
  provenanceFieldNames,
} from "./provenance-record.ts";
import { createTestRecord } from "./test-records.ts";

const summary: GgufSummary = {
  architecture: "llama",
  name: "Tiny",
  parameterCount: 100,
  tensorBytes: 400,
  tensorCount: 2,
  quantization: "F32",
  contextLength: 128,
  embeddingLength: 8,
  blockCount: 1,
  headCount: 1,
  headCountKv: 1,
  vocabularySize: 32,
  chatTemplate: null,
  license: "other",
  provenance: {
    "general.license": "other",
    "general.license.name": "Llama 3.2 Community License Agreement",
    "general.license.link": "https://example.org/license",
    "general.source.huggingface.repository": "acme/tiny",
    "general.dataset.count": 2,
    "general.dataset.0.name": "Corpus A",
    "general.dataset.1.name": "Corpus B",
    "general.dataset.1.repo_url": "https://huggingface.co/datasets/acme/b",
    "general.tags": ["text-generation", "open-source"],
  },
  fileSize: 1000,
  isEmbeddingModel: false,
};

const license = (text: string): LicenseValue => ({
  expression: text,
  status: "known",
  original: text,
  url: null,
});
const fact = <T>(value: T, source: "catalog" | "declared"): Fact<T> => ({
  value,
  source,
  url: `https://${source}.example`,
  date: "2026-01-02",
});

test("GGUF facts: license name behind a placeholder id, source repository, datasets, tags", () => {
  const facts = getGgufFacts({ summary, path: "/m/tiny.gguf", readAt: "2026-01-01T00:00:00Z" });
  assert.equal(facts.license?.value.expression, "LicenseRef-Llama-3.2-Community");
  assert.equal(facts.license?.value.url, "https://example.org/license");
  assert.deepEqual(
    [facts.license?.source, facts.license?.url, facts.license?.date],
    ["gguf", "/m/tiny.gguf", "2026-01-01T00:00:00Z"],
  );
  assert.equal(facts.sourceUrl?.value, "https://huggingface.co/acme/tiny");
  assert.deepEqual(
    facts.datasets?.value.map((dataset) => [dataset.name, dataset.url]),
    [
      ["Corpus A", null],
      ["Corpus B", "https://huggingface.co/datasets/acme/b"],
    ],
  );
  assert.deepEqual(facts.tags?.value, ["text-generation", "open-source"]);
  assert.equal(facts.components?.["model-parameters-final"]?.value.availability, "available");
});

test("merge precedence is declared > catalog > gguf, per fact, keeping the losers", () => {
  const record = mergeProvenance(
    { summary, path: "/m/tiny.gguf" },
    { license: fact(license("MIT"), "catalog"), producer: fact("Acme", "catalog") },
    { license: fact(license("Apache-2.0"), "declared") },
  );
  assert.equal(record.license?.value.expression, "Apache-2.0");
  assert.equal(record.license?.source, "declared");
  assert.deepEqual(
    record.license?.overridden.map((item) => item.source),
    ["catalog", "gguf"],
  );
  assert.equal(hasConflict(record.license), true);
  assert.equal(record.producer?.value, "Acme");
  assert.equal(record.name?.source, "gguf");
  assert.equal(record.version, undefined);
});

test("the same license written differently is no conflict", () => {
  const record = mergeProvenance(
    { summary: { ...summary, provenance: { "general.license": "apache-2.0" } } },
    {
      license: fact(
        { expression: "Apache-2.0", status: "known", original: "Apache 2.0", url: null },
        "catalog",
      ),
    },
  );
  assert.equal(hasConflict(record.license), false);
});

test("components merge one by one", () => {
  const catalog = createTestRecord({ components: { "model-card": "CC-BY-4.0" } });
  assert.equal(catalog.components["model-card"]?.value.license?.expression, "CC-BY-4.0");
  assert.equal(catalog.components.datasets?.value.availability, "not-available");
  const record = mergeProvenance(
    { summary },
    { components: { "model-card": catalog.components["model-card"]! } },
  );
  assert.equal(record.components["model-card"]?.source, "catalog");
  assert.equal(record.components["model-parameters-final"]?.source, "gguf");
  assert.equal(record.components.datasets, undefined);
});

test("the field list covers every field of the record", () => {
  const record = mergeProvenance({ summary });
  assert.deepEqual(
    Object.keys(record)
      .filter((key) => key !== "components")
      .sort(),
    [...provenanceFieldNames].sort(),
  );
});
