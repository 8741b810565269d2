import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { createTempDir } from "../../test/helpers/test-models.ts";
import { isOstromError } from "../errors.ts";
import { getDeclaredFacts, parseAdminDeclaration } from "./admin-declaration.ts";
import { assessOpenness } from "./assess-openness.ts";
import { ProvenanceOverlayStore } from "./provenance-overlay-store.ts";
import { mergeProvenance } from "./provenance-record.ts";
import { createTestRecord } from "./test-records.ts";

const declarationYaml = `# Checked with the producer on 2026-01-10.
release:
  license:
    distribution: {name: Apache 2.0, path: https://example.org/LICENSE}
  components:
    - name: Datasets
      license: CC-BY-4.0
      component_path: https://example.org/data
    - name: Training code
      availability: not-available
x-ostrom:
  datasets:
    - {name: Example corpus, url: https://example.org/data, license: CC-BY-4.0}
  sources:
    default: https://example.org/provenance
`;

const isInvalid = (param: string, pattern: RegExp) => (error: unknown) =>
  isOstromError(error, "invalid_provenance_record") && error.param === param && pattern.test(error.message);

test("a declaration states only what it writes, with source `declared` and its date", () => {
  const declaration = parseAdminDeclaration(declarationYaml, "d.yml");
  const facts = getDeclaredFacts(declaration, { date: "2026-01-10T00:00:00.000Z" });
  assert.deepEqual(Object.keys(facts).sort(), ["components", "datasets", "license"]);
  assert.equal(facts.license?.value.expression, "Apache-2.0");
  assert.equal(facts.license?.source, "declared");
  assert.equal(facts.license?.url, "https://example.org/provenance");
  assert.equal(facts.license?.date, "2026-01-10T00:00:00.000Z");
  assert.deepEqual(Object.keys(facts.components ?? {}).sort(), ["datasets", "training-code"]);
  assert.equal(facts.components?.["training-code"]?.value.availability, "not-available");
  assert.equal(facts.components?.datasets?.value.url, "https://example.org/data");
});

test("declared facts take precedence over the catalog and the GGUF; undeclared ones are kept", () => {
  const catalog = createTestRecord({
    licenses: { distribution: "llama3.2" },
    components: { "model-card": "CC-BY-4.0", "training-code": "MIT" },
  });
  const declared = getDeclaredFacts(parseAdminDeclaration(declarationYaml), { date: "2026-01-10" });
  const catalogFacts = {
    license: catalog.license,
    components: Object.fromEntries(
      Object.entries(catalog.components).filter(([, fact]) => fact !== undefined),
    ),
  };
  const record = mergeProvenance(undefined, catalogFacts, declared);
  assert.equal(record.license?.source, "declared");
  assert.equal(record.license?.overridden[0]?.source, "catalog");
  assert.equal(record.components["model-card"]?.source, "catalog", "not declared, so the catalog's stays");
  assert.equal(record.components["training-code"]?.value.availability, "not-available");
  const assessment = assessOpenness(record);
  assert.equal(assessment.components.find((item) => item.id === "datasets")?.verdict, "open");
});

test("bad declarations name the bad field", () => {
  assert.throws(() => parseAdminDeclaration("release: [", "d.yml"), isInvalid("", /not valid YAML/));
  assert.throws(() => parseAdminDeclaration("- 1", "d.yml"), isInvalid("", /mapping/));
  assert.throws(() => parseAdminDeclaration("release: {}", "d.yml"), isInvalid("", /declares no fact/));
  assert.throws(
    () => parseAdminDeclaration("release: {licence: {distribution: {name: MIT}}}", "d.yml"),
    isInvalid("release.licence", /d\.yml: release\.licence: unknown field/),
  );
  assert.throws(
    () => parseAdminDeclaration("release: {license: {distribution: {name: my own terms}}}"),
    isInvalid("release.license.distribution.name", /not a license Ostrom recognises/),
  );
  assert.throws(
    () => parseAdminDeclaration("release: {components: [{name: Weights please}]}"),
    isInvalid("release.components[0].name", /not an MOF component/),
  );
  assert.throws(
    () => parseAdminDeclaration("release: {components: [{name: Datasets}, {name: datasets}]}"),
    isInvalid("release.components[1].name", /listed twice/),
  );
  assert.throws(
    () => parseAdminDeclaration("release: {components: [{name: Datasets, availability: maybe}]}"),
    isInvalid("release.components[0].availability", /./),
  );
  assert.throws(
    () =>
      parseAdminDeclaration(
        "release: {components: [{name: Datasets, availability: not-available, license: MIT}]}",
      ),
    isInvalid("release.components[0].availability", /has no license/),
  );
  assert.throws(
    () => parseAdminDeclaration("x-ostrom: {datasets: [{url: https://x}]}"),
    isInvalid("x-ostrom.datasets[0].name", /./),
  );
});

test("the overlay store writes atomically with the declaration date, and clears", async () => {
  const store = new ProvenanceOverlayStore(await createTempDir("ostrom-overlays-"));
  const digest = `sha256:${"1".repeat(64)}`;
  const before = await store.getVersion(digest);
  assert.equal(await store.readDeclaration(digest), undefined);
  await assert.rejects(
    store.writeDeclaration(digest, "release: {nonsense: 1}", "bad.yml"),
    isInvalid("release.nonsense", /unknown field/),
  );
  assert.equal(await store.getVersion(digest), before, "an invalid declaration writes nothing");

  const stored = await store.writeDeclaration(
    digest,
    declarationYaml,
    "d.yml",
    new Date("2026-03-04T05:06:07.000Z"),
  );
  assert.equal(path.dirname(stored.file), path.join(store.root, "declared"));
  const text = await readFile(stored.file, "utf8");
  assert.match(text, /# Checked with the producer/, "comments are kept");
  assert.match(text, /declared_at: 2026-03-04T05:06:07.000Z/);
  const read = await store.readDeclaration(digest);
  assert.equal(getDeclaredFacts(read!.declaration, {}).license?.date, "2026-03-04T05:06:07.000Z");
  assert.notEqual(await store.getVersion(digest), before);

  assert.equal(await store.clearDeclaration(digest), true);
  assert.equal(await store.clearDeclaration(digest), false);
  assert.equal(await store.readDeclaration(digest), undefined);
});
