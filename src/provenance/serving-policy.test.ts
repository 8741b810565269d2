import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { assessOpenness } from "./assess-openness.ts";
import type { ProvenanceRecord } from "./provenance-record.ts";
import { assertPolicy, evaluatePolicy, parseServingPolicy, permissivePolicy } from "./serving-policy.ts";
import { createTestRecord, fullyOpenComponents } from "./test-records.ts";

const digest = `sha256:${"0".repeat(64)}`;
const withDigest = (record: ProvenanceRecord): ProvenanceRecord => ({
  ...record,
  digest: { value: digest, source: "gguf", url: null, date: null, overridden: [] },
});

const openRecord = withDigest(
  createTestRecord({
    components: { ...fullyOpenComponents, "model-parameters-final": "Apache-2.0" },
    ostrom: { datasets: [{ name: "corpus", license: "odc-by" }] },
  }),
);
const llamaRecord = withDigest(
  createTestRecord({
    name: "Llama-3.2-1B-Instruct",
    licenses: { distribution: "llama3.2" },
    components: { "model-parameters-final": undefined, "model-card": undefined },
  }),
);

const strict = parseServingPolicy(
  JSON.stringify({
    minimumMofClass: "II",
    requireOsiApprovedLicense: true,
    requireTrainingDataDisclosed: true,
    requireOsaid: true,
    allowedLicenses: ["apache-2.0", "MIT"],
    deniedLicenses: ["llama3.2"],
    pinnedDigests: [digest],
    deniedFlags: ["use-restricting-license"],
  }),
);

test("parses a policy, normalising license names", () => {
  assert.equal(strict.minimumMofClass, 2);
  assert.deepEqual(strict.allowedLicenses, ["Apache-2.0", "MIT"]);
  assert.deepEqual(strict.deniedLicenses, ["LicenseRef-Llama-3.2-Community"]);
  assert.deepEqual(parseServingPolicy("{}"), permissivePolicy);
  assert.equal(parseServingPolicy('{"minimumMofClass": 3}').minimumMofClass, 3);
});

test("an open model passes every rule", () => {
  assert.deepEqual(evaluatePolicy(openRecord, assessOpenness(openRecord), strict), []);
  assert.doesNotThrow(() => assertPolicy(openRecord, assessOpenness(openRecord), strict));
});

test("a restricted weights-only model fails each rule, each with a message", () => {
  const failures = evaluatePolicy(llamaRecord, assessOpenness(llamaRecord), strict);
  assert.deepEqual(
    failures.map((failure) => failure.rule),
    [
      "minimumMofClass",
      "requireOsiApprovedLicense",
      "requireTrainingDataDisclosed",
      "requireOsaid",
      "allowedLicenses",
      "deniedLicenses",
      "deniedFlags",
    ],
  );
  assert.match(
    failures[0]?.message ?? "",
    /requires MOF Class II or more open, but the model is unclassified \(Class II 0% met; not met: Model architecture, /,
  );
  assert.match(failures[1]?.message ?? "", /under LicenseRef-Llama-3.2-Community/);
  assert.throws(
    () => assertPolicy(llamaRecord, assessOpenness(llamaRecord), strict, "llama:1b"),
    (error: unknown) =>
      isOstromError(error, "policy_violation") &&
      error.status === 403 &&
      /refuses llama:1b \(7 rules failed\)/.test(error.message) &&
      /minimumMofClass: .*deniedFlags: /.test(error.message),
  );
});

test("pinned digests refuse any other file, and a model without a known digest", () => {
  const other = parseServingPolicy(JSON.stringify({ pinnedDigests: [`sha256:${"1".repeat(64)}`] }));
  assert.deepEqual(
    evaluatePolicy(openRecord, assessOpenness(openRecord), other).map((failure) => failure.rule),
    ["pinnedDigests"],
  );
  const noDigest = createTestRecord({ components: fullyOpenComponents });
  assert.match(evaluatePolicy(noDigest, assessOpenness(noDigest), other)[0]?.message ?? "", /unknown digest/);
});

test("an OR license passes allowed and denied lists when one branch is acceptable", () => {
  const dual = withDigest(
    createTestRecord({
      licenses: { distribution: "MIT OR llama3.2" },
      components: { "model-parameters-final": undefined },
    }),
  );
  const policy = parseServingPolicy('{"allowedLicenses": ["MIT"], "deniedLicenses": ["llama3.2"]}');
  assert.deepEqual(evaluatePolicy(dual, assessOpenness(dual), policy), []);
  const both = withDigest(
    createTestRecord({
      licenses: { distribution: "MIT AND llama3.2" },
      components: { "model-parameters-final": undefined },
    }),
  );
  assert.deepEqual(
    evaluatePolicy(both, assessOpenness(both), policy).map((failure) => failure.rule),
    ["allowedLicenses", "deniedLicenses"],
  );
});

test("malformed policies name the bad field", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["{", "", /not valid JSON/],
    ['{"minimumMofClass": "IV"}', "minimumMofClass", /minimumMofClass/],
    ['{"requireOsaid": "yes"}', "requireOsaid", /requireOsaid/],
    ['{"pinnedDigests": ["abc"]}', "pinnedDigests.0", /sha256:<64 lowercase hex digits>/],
    ['{"deniedFlags": ["bad-vibes"]}', "deniedFlags.0", /deniedFlags/],
    ['{"allowedLicenses": ["Acme Terms"]}', "allowedLicenses.0", /not a license Ostrom recognises/],
    ['{"minimumClass": "II"}', "", /minimumClass/],
  ];
  for (const [json, param, message] of cases) {
    assert.throws(
      () => parseServingPolicy(json, "policy.json"),
      (error: unknown) =>
        isOstromError(error, "invalid_provenance_record") &&
        error.param === param &&
        message.test(error.message),
      json,
    );
  }
});

test("requireSignature refuses unsigned files, and with a key list, files signed by other keys", () => {
  const trusted = `sha256:${"a".repeat(64)}`;
  const other = `sha256:${"b".repeat(64)}`;
  const signedBy = (keyFingerprint: string): ProvenanceRecord => ({
    ...openRecord,
    signer: {
      value: { algorithm: "ed25519", keyFingerprint, name: "Release team" },
      source: "signature",
      url: null,
      date: "2026-01-01T00:00:00.000Z",
      overridden: [],
    },
  });
  const anySigner = parseServingPolicy('{"requireSignature": true}');
  assert.equal(anySigner.requireSignature, true);
  assert.equal(anySigner.trustedKeys, null);
  const rules = (record: ProvenanceRecord, policy: typeof anySigner) =>
    evaluatePolicy(record, assessOpenness(record), policy);
  assert.deepEqual(
    rules(openRecord, anySigner).map((failure) => failure.rule),
    ["requireSignature"],
  );
  assert.match(rules(openRecord, anySigner)[0]!.message, /not signed/);
  assert.deepEqual(rules(signedBy(other), anySigner), []);

  const onlyTrusted = parseServingPolicy(JSON.stringify({ requireSignature: [trusted] }));
  assert.deepEqual(onlyTrusted.trustedKeys, [trusted]);
  assert.deepEqual(rules(signedBy(trusted), onlyTrusted), []);
  const refused = rules(signedBy(other), onlyTrusted);
  assert.equal(refused[0]?.rule, "requireSignature");
  assert.match(refused[0]!.message, new RegExp(`Release team with key ${other}`));

  const declaredSigner = signedBy(trusted);
  const notVerified = {
    ...declaredSigner,
    signer: { ...declaredSigner.signer!, source: "declared" as const },
  };
  assert.equal(
    rules(notVerified, onlyTrusted)[0]?.rule,
    "requireSignature",
    "only a verified signature counts",
  );

  assert.equal(parseServingPolicy('{"requireSignature": false}').requireSignature, false);
  assert.throws(
    () => parseServingPolicy('{"requireSignature": ["abc"]}'),
    (error: unknown) =>
      isOstromError(error, "invalid_provenance_record") && error.param === "requireSignature.0",
  );
  assert.throws(
    () => parseServingPolicy('{"requireSignature": []}'),
    (error: unknown) =>
      isOstromError(error, "invalid_provenance_record") && error.param === "requireSignature",
  );
});
