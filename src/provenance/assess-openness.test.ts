import assert from "node:assert/strict";
import { test } from "node:test";
import { assessOpenness, type ComponentAssessment, type OpennessAssessment } from "./assess-openness.ts";
import type { MofComponentId } from "./mof-components.ts";
import { mergeProvenance } from "./provenance-record.ts";
import { assessTestRecord, fullyOpenComponents } from "./test-records.ts";

const component = (assessment: OpennessAssessment, id: MofComponentId): ComponentAssessment => {
  const found = assessment.components.find((item) => item.id === id);
  assert.ok(found, id);
  return found;
};

const without = (...ids: MofComponentId[]) =>
  Object.fromEntries(
    Object.entries(fullyOpenComponents).filter(([id]) => !ids.includes(id as MofComponentId)),
  );

test("every component open and of the right kind: Class I, 100% everywhere, OSAID needs OSI weights", () => {
  const assessment = assessTestRecord({
    components: fullyOpenComponents,
    ostrom: { datasets: [{ name: "d", license: "odc-by" }] },
  });
  assert.equal(assessment.mofClass, 1);
  assert.equal(assessment.mofClassLabel, "Class I (Open Science)");
  assert.deepEqual(
    assessment.classes.map((progress) => [progress.label, progress.required, progress.percent]),
    [
      ["Class III (Open Model)", 6, 100],
      ["Class II (Open Tooling)", 10, 100],
      ["Class I (Open Science)", 14, 100],
    ],
  );
  assert.deepEqual(assessment.warnings, []);
  assert.ok(
    assessment.components
      .filter((item) => item.requiredFrom !== null)
      .every((item) => item.verdict === "open"),
  );
  // CDLA-Permissive-2.0 on weights is ideal for the MOF, but OSAID 1.0 asks for OSI-approved terms.
  const parameters = assessment.osaid.criteria.find((criterion) => criterion.name === "parameters");
  assert.equal(parameters?.passed, false);
  assert.match(parameters?.reason ?? "", /CDLA-Permissive-2.0, not an OSI-approved license/);
  assert.deepEqual(assessment.flags, []);
});

test("classes are cumulative: a missing Class I component leaves Class II", () => {
  const assessment = assessTestRecord({ components: without("model-parameters-intermediate") });
  assert.equal(assessment.mofClass, 2);
  assert.deepEqual(
    assessment.classes.map((progress) => progress.percent),
    [100, 100, 92],
  );
  assert.deepEqual(assessment.classes[2]?.unmet, ["Model parameters (Intermediate)"]);
  assert.equal(component(assessment, "model-parameters-intermediate").verdict, "missing");
});

test("a missing Class III component leaves the model unclassified however much else is open", () => {
  const assessment = assessTestRecord({ components: without("data-card") });
  assert.equal(assessment.mofClass, null);
  assert.equal(assessment.mofClassLabel, "unclassified");
  assert.deepEqual(
    assessment.classes.map((progress) => progress.percent),
    [83, 90, 92],
  );
});

test("a research paper stands in for a missing technical report", () => {
  const assessment = assessTestRecord({ components: without("technical-report") });
  assert.equal(assessment.mofClass, 1);
  assert.equal(component(assessment, "technical-report").verdict, "missing");
  assert.ok(assessment.warnings.some((warning) => /research paper stands in/.test(warning)));
  assert.equal(
    assessTestRecord({ components: without("technical-report", "research-paper") }).mofClass,
    null,
  );
});

test("an open license of the wrong kind counts with a warning (Apache-2.0 on weights)", () => {
  const assessment = assessTestRecord({
    components: { ...fullyOpenComponents, "model-parameters-final": "apache-2.0" },
  });
  const weights = component(assessment, "model-parameters-final");
  assert.equal(weights.verdict, "open-wrong-kind");
  assert.equal(weights.counts, true);
  assert.equal(assessment.mofClass, 1);
  assert.equal(assessment.warnings.length, 1);
  assert.match(assessment.warnings[0] ?? "", /Model parameters \(Final\).*not of the expected kind \(data\)/);
  // And OSAID now passes its parameters criterion.
  assert.equal(assessment.osaid.criteria.find((criterion) => criterion.name === "parameters")?.passed, true);
});

test("free-text license names are recognised", () => {
  const assessment = assessTestRecord({
    components: {
      ...fullyOpenComponents,
      "training-code": "Apache 2.0",
      "inference-code": "BSD-3",
      "model-card": "CC BY 4.0",
    },
  });
  assert.equal(component(assessment, "training-code").license, "Apache-2.0");
  assert.equal(component(assessment, "inference-code").license, "BSD-3-Clause");
  assert.equal(component(assessment, "model-card").verdict, "open");
  assert.equal(assessment.mofClass, 1);
});

test("unlicensed components inherit the type-specific global license, then the distribution license", () => {
  const components = Object.fromEntries(Object.keys(fullyOpenComponents).map((id) => [id, undefined]));
  const assessment = assessTestRecord({
    licenses: { distribution: "Apache-2.0", data: "CDLA-Permissive-2.0", document: "CC-BY-4.0" },
    components,
  });
  const architecture = component(assessment, "model-architecture");
  assert.deepEqual(
    [architecture.verdict, architecture.license, architecture.licenseOrigin],
    ["open", "Apache-2.0", "distribution"],
  );
  assert.match(architecture.explanation, /inherited from the distribution license/);
  const weights = component(assessment, "model-parameters-final");
  assert.deepEqual(
    [weights.verdict, weights.license, weights.licenseOrigin],
    ["open", "CDLA-Permissive-2.0", "global-data"],
  );
  assert.equal(component(assessment, "model-card").licenseOrigin, "global-document");
  assert.equal(assessment.mofClass, 1);
});

test("a component's own license beats the global ones", () => {
  const assessment = assessTestRecord({
    licenses: { distribution: "llama3.2", code: "MIT" },
    components: { "model-architecture": "Apache-2.0", "training-code": undefined, "model-card": undefined },
  });
  assert.equal(component(assessment, "model-architecture").licenseOrigin, "component");
  assert.equal(component(assessment, "training-code").license, "MIT");
  assert.equal(component(assessment, "training-code").licenseOrigin, "global-code");
  const card = component(assessment, "model-card");
  assert.deepEqual(
    [card.verdict, card.license, card.licenseOrigin],
    ["restricted", "LicenseRef-Llama-3.2-Community", "distribution"],
  );
});

test("no license never counts: none to inherit, or explicitly unlicensed", () => {
  const none = assessTestRecord({ components: { "model-architecture": undefined } });
  assert.deepEqual(
    [component(none, "model-architecture").verdict, component(none, "model-architecture").counts],
    ["unlicensed", false],
  );
  const explicit = assessTestRecord({
    licenses: { distribution: "MIT" },
    components: { "model-architecture": "unlicensed" },
  });
  const architecture = component(explicit, "model-architecture");
  assert.equal(architecture.verdict, "unlicensed");
  assert.equal(architecture.license, null);
  assert.match(architecture.explanation, /no license/);
});

test("restrictive, unknown and unrecognised licenses are restricted", () => {
  const assessment = assessTestRecord({
    components: {
      "model-parameters-final": "gemma",
      "model-card": "cc-by-nc-4.0",
      "technical-report": "other",
      "data-card": "Acme Research Terms",
    },
  });
  const weights = component(assessment, "model-parameters-final");
  assert.equal(weights.verdict, "restricted");
  assert.match(weights.explanation, /Prohibited Use Policy/);
  assert.equal(component(assessment, "model-card").verdict, "restricted");
  assert.match(component(assessment, "technical-report").explanation, /not stated precisely/);
  assert.match(component(assessment, "data-card").explanation, /does not recognise/);
});

test("unverified components are reported apart from missing ones and do not count", () => {
  const assessment = assessTestRecord({ components: without("datasets"), ostrom: { unknown: ["Datasets"] } });
  const datasets = component(assessment, "datasets");
  assert.equal(datasets.verdict, "unknown");
  assert.equal(datasets.counts, false);
  assert.equal(assessment.mofClass, 2);
});

test("OSAID 1.0 passes with OSI weights, OSI code and disclosed data; each failure has a reason", () => {
  const passing = assessTestRecord({
    components: { ...fullyOpenComponents, "model-parameters-final": "Apache-2.0" },
    ostrom: { datasets: [{ name: "corpus", license: "odc-by" }] },
  });
  assert.equal(passing.osaid.passes, true);
  assert.ok(passing.osaid.criteria.every((criterion) => criterion.passed));

  const failing = assessTestRecord({
    components: {
      ...without("data-preprocessing-code", "datasets", "data-card"),
      "model-parameters-final": "llama3.2",
      "training-code": "CC-BY-4.0",
    },
  });
  assert.equal(failing.osaid.passes, false);
  const reasons = Object.fromEntries(failing.osaid.criteria.map((criterion) => [criterion.name, criterion]));
  assert.match(
    reasons.parameters?.reason ?? "",
    /LicenseRef-Llama-3.2-Community, not an OSI-approved license/,
  );
  assert.match(
    reasons.code?.reason ?? "",
    /Data preprocessing code is not released; Training code is under CC-BY-4.0/,
  );
  assert.match(reasons["data-information"]?.reason ?? "", /datasets are not named; there is no data card/);
});

test("open-washing: an open-source claim with non-OSI weights, weights-only releases, use restrictions", () => {
  const assessment = assessTestRecord({
    name: "Acme Open Source LLM",
    licenses: { distribution: "llama3.2" },
    components: { "model-parameters-final": undefined, "model-card": undefined },
  });
  const codes = assessment.flags.map((flag) => flag.code);
  assert.deepEqual(codes, [
    "open-source-claim-without-osi-weights",
    "weights-only-undisclosed-data",
    "use-restricting-license",
  ]);
  assert.match(assessment.flags[0]?.message ?? "", /"Acme Open Source LLM".*LicenseRef-Llama-3.2-Community/);
  assert.match(assessment.flags[2]?.message ?? "", /Acceptable Use Policy/);

  const claimed = assessTestRecord({
    licenses: { distribution: "gemma" },
    components: { "model-parameters-final": undefined, datasets: undefined },
    ostrom: { open_source_claim: { text: "our open model", url: "https://example.org" } },
  });
  assert.ok(claimed.flags.some((flag) => flag.code === "open-source-claim-without-osi-weights"));
  assert.ok(!claimed.flags.some((flag) => flag.code === "weights-only-undisclosed-data"));
});

test("open-washing: a GGUF whose license contradicts the catalog's", () => {
  const summary = {
    architecture: "llama",
    name: "Llama 3.2 1B Instruct",
    parameterCount: 10,
    tensorBytes: 10,
    tensorCount: 1,
    quantization: "Q4_K_M",
    contextLength: 2048,
    embeddingLength: 8,
    blockCount: 1,
    headCount: 1,
    headCountKv: 1,
    vocabularySize: 10,
    chatTemplate: null,
    license: "mit",
    provenance: { "general.license": "mit" },
    fileSize: 100,
    isEmbeddingModel: false,
  };
  const record = mergeProvenance(
    { summary, path: "/models/x.gguf", readAt: "2026-01-01" },
    {
      license: {
        value: {
          expression: "LicenseRef-Llama-3.2-Community",
          status: "known",
          original: "llama3.2",
          url: null,
        },
        source: "catalog",
        url: "https://example.org/llama",
        date: "2026-01-01",
      },
    },
  );
  const assessment = assessOpenness(record);
  const flag = assessment.flags.find((item) => item.code === "quantization-license-conflict");
  assert.ok(flag);
  assert.match(
    flag.message,
    /GGUF file says its license is MIT, but the catalog says .*LicenseRef-Llama-3.2-Community/,
  );
  // The GGUF alone contradicts nothing.
  assert.ok(
    !assessOpenness(mergeProvenance({ summary })).flags.some(
      (item) => item.code === "quantization-license-conflict",
    ),
  );
});
