import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { createRandomLlamaGguf } from "../gguf/create-random-llama.ts";
import { loadProvenanceCatalog } from "./catalog.ts";
import { describeModelProvenance } from "./describe-model-provenance.ts";

let directory = "";
before(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "ostrom-provenance-"));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

test("a real GGUF named like a catalog model merges both, and its conflicting license is flagged", async () => {
  const file = path.join(directory, "smol.gguf");
  await createRandomLlamaGguf(file, {
    name: "SmolLM2 135M Instruct",
    extraMetadata: [["general.license", { type: "string", value: "mit" }]],
  });
  const catalog = await loadProvenanceCatalog();
  const { record, assessment, catalogMatch } = await describeModelProvenance({ path: file, catalog });
  assert.equal(catalogMatch?.model.record.release.name, "SmolLM2-135M-Instruct");
  const hex = createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
  assert.equal(record.digest?.value, `sha256:${hex}`);
  assert.equal(record.license?.value.expression, "Apache-2.0");
  assert.equal(record.license?.source, "catalog");
  assert.equal(record.license?.overridden[0]?.value.expression, "MIT");
  assert.equal(record.architecture?.source, "gguf");
  assert.ok(assessment.flags.some((flag) => flag.code === "quantization-license-conflict"));
});

test("a GGUF with a generic name is found by its store name; an unknown one stands alone", async () => {
  const file = path.join(directory, "blob");
  await createRandomLlamaGguf(file, { name: "llama" });
  const catalog = await loadProvenanceCatalog();
  const digest = `sha256:${"c".repeat(64)}`;
  const named = await describeModelProvenance({ path: file, catalog, digest, names: ["stories260k"] });
  assert.equal(named.catalogMatch?.model.record.release.name, "stories260K");
  assert.equal(named.record.digest?.value, digest);
  const alone = await describeModelProvenance({ path: file, catalog, digest });
  assert.equal(alone.catalogMatch, undefined);
  assert.equal(alone.record.license, undefined);
  assert.equal(alone.assessment.mofClass, null);
});
