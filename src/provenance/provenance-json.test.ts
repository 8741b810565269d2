import assert from "node:assert/strict";
import { test } from "node:test";
import { assessOpenness } from "./assess-openness.ts";
import { toProvenanceJson, toProvenanceSummaryJson } from "./provenance-json.ts";
import { createTestRecord, fullyOpenComponents } from "./test-records.ts";

const record = createTestRecord({
  licenses: { distribution: "Apache 2.0" },
  components: { ...fullyOpenComponents },
  ostrom: {
    datasets: [{ name: "corpus", license: "CC-BY-4.0" }],
    base_models: [{ name: "base", relation: "fine-tune" }],
  },
});
const assessment = assessOpenness(record);
const json = toProvenanceJson({ ref: "m:latest", digest: `sha256:${"0".repeat(64)}` }, record, assessment, {
  servable: false,
  failures: [{ rule: "minimumMofClass", message: "requires more" }],
});

/** Every key anywhere in the document, except those of `components` maps keyed by id. */
function collectKeys(value: unknown, keys = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) collectKeys(item, keys);
  else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      keys.add(key);
      collectKeys(child, keys);
    }
  }
  return keys;
}

test("every key is snake_case", () => {
  for (const key of collectKeys(json)) assert.match(key, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, key);
});

test("the record lists every field (null when unknown) and all 17 components in MOF order", () => {
  const recordJson = json.record as Record<string, unknown>;
  assert.ok("file_size" in recordJson && "base_models" in recordJson && "signer" in recordJson);
  assert.equal(recordJson.signer, null);
  const license = recordJson.license as { value: { expression: string; original: string }; source: string };
  assert.equal(license.value.expression, "Apache-2.0");
  assert.equal(license.value.original, "Apache 2.0");
  assert.equal(license.source, "catalog");
  assert.deepEqual((recordJson.base_models as { value: unknown[] }).value, [
    { name: "base", organization: null, url: null, relation: "fine-tune" },
  ]);
  const components = recordJson.components as Array<{ id: string; fact: unknown }>;
  assert.equal(components.length, 17);
  assert.equal(components[0]?.id, "model-architecture");
});

test("the assessment explains each component and the policy lists failures", () => {
  const assessed = json.assessment as {
    mof_class: number;
    classes: Array<{ mof_class: number; percent: number }>;
    components: Array<{
      id: string;
      availability: string;
      counts: boolean;
      explanation: string;
      required_from: number | null;
    }>;
    osaid: { verdict: string };
  };
  assert.equal(assessed.mof_class, assessment.mofClass);
  assert.deepEqual(
    assessed.classes.map((progress) => progress.mof_class),
    [3, 2, 1],
  );
  assert.ok(assessed.components.every((item) => item.explanation.length > 0));
  assert.equal(assessed.osaid.verdict, assessment.osaid.passes ? "pass" : "fail");
  assert.deepEqual(json.policy, {
    servable: false,
    failures: [{ rule: "minimumMofClass", message: "requires more" }],
  });
});

test("the /v1/models summary carries the policy verdict", () => {
  const summary = toProvenanceSummaryJson({
    license: "MIT",
    mofClass: "unclassified",
    osaid: "fail",
    flags: [],
    policy: { servable: true, failures: [] },
  });
  assert.deepEqual(summary, {
    license: "MIT",
    mof_class: "unclassified",
    osaid: "fail",
    flags: [],
    servable: true,
    policy_failures: [],
  });
});
