import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { assessOpenness } from "./assess-openness.ts";
import { findCatalogDirectory, loadProvenanceCatalog } from "./catalog.ts";
import { mofComponents } from "./mof-components.ts";
import { mergeProvenance } from "./provenance-record.ts";

const catalog = await loadProvenanceCatalog();

test("the catalog loads: every file validates, at least 20 models, each with a license and sources", async () => {
  const files = (await readdir(await findCatalogDirectory())).filter((name) => name.endsWith(".yml"));
  assert.equal(catalog.models.length, files.length);
  assert.ok(catalog.models.length >= 20, `${catalog.models.length} models`);
  for (const model of catalog.models) {
    const { release, ostrom } = model.record;
    assert.ok(release.license.distribution, `${release.name}: distribution license`);
    assert.match(ostrom?.checked ?? "", /^\d{4}-\d{2}-\d{2}$/, `${release.name}: checked date`);
    assert.match(ostrom?.sources?.default ?? "", /^https:\/\//, `${release.name}: default source`);
    const license = model.facts.license?.value;
    assert.ok(
      license?.expression !== null && license?.status === "known",
      `${release.name}: ${license?.original}`,
    );
    for (const url of Object.values(ostrom?.sources ?? {})) assert.match(url, /^https:\/\//);
  }
});

test("no component is both listed as released and as unverified", () => {
  for (const model of catalog.models) {
    const unknown = new Set(model.record.ostrom?.unknown ?? []);
    for (const component of model.record.release.components)
      assert.ok(!unknown.has(component.name), `${model.record.release.name}: ${component.name}`);
    for (const name of unknown)
      assert.ok(
        mofComponents.some((component) => component.name === name),
        name,
      );
  }
});

test("entries are found by name, alias, hub repository and file name, loosely", () => {
  assert.equal(catalog.find("SmolLM2-135M-Instruct")?.record.release.name, "SmolLM2-135M-Instruct");
  assert.equal(catalog.find("smollm2 135m instruct")?.record.release.name, "SmolLM2-135M-Instruct");
  assert.equal(
    catalog.find("HuggingFaceTB/SmolLM2-360M-Instruct")?.record.release.name,
    "SmolLM2-360M-Instruct",
  );
  assert.equal(
    catalog.find("https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/tree/main")?.record.release.name,
    "Llama-3.2-1B-Instruct",
  );
  assert.equal(catalog.find("stories260k")?.record.release.name, "stories260K");
  assert.equal(catalog.find("no-such-model"), undefined);
});

test("GGUF files are matched by general.name, source URL, then base model", () => {
  assert.equal(catalog.findForGguf({ name: "SmolLM2 135M Instruct", provenance: {} })?.matchedBy, "name");
  const bySource = catalog.findForGguf({
    name: "model",
    provenance: { "general.source.url": "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct" },
  });
  assert.deepEqual(
    [bySource?.matchedBy, bySource?.model.record.release.name],
    ["source-url", "Qwen2.5-0.5B-Instruct"],
  );
  const byBase = catalog.findForGguf({
    name: "My Fine Tune",
    provenance: {
      "general.base_model.0.repo_url": "https://huggingface.co/HuggingFaceTB/SmolLM2-1.7B-Instruct",
    },
  });
  assert.deepEqual(
    [byBase?.matchedBy, byBase?.model.record.release.name],
    ["base-model", "SmolLM2-1.7B-Instruct"],
  );
  assert.equal(catalog.findForGguf({ name: null, provenance: {} }), undefined);
});

test("catalog verdicts match what is publicly known", () => {
  const assess = (name: string) => assessOpenness(mergeProvenance(undefined, catalog.find(name)?.facts));
  assert.equal(assess("OLMo-2-1124-7B-Instruct").mofClass, 3);
  const llama = assess("Llama-3.2-1B-Instruct");
  assert.equal(llama.mofClass, null);
  assert.ok(llama.flags.some((flag) => flag.code === "open-source-claim-without-osi-weights"));
  assert.ok(assess("gemma-2-2b-it").flags.some((flag) => flag.code === "use-restricting-license"));
  assert.ok(
    assess("Qwen2.5-0.5B-Instruct").flags.some((flag) => flag.code === "weights-only-undisclosed-data"),
  );
  assert.equal(
    catalog.find("Qwen2.5-3B-Instruct")?.facts.license?.value.expression,
    "LicenseRef-Qwen-Research",
  );
});
