import assert from "node:assert/strict";
import { test } from "node:test";
import {
  getLicenseFacts,
  getUseRestrictions,
  isOpenFor,
  knownLicenses,
  listLicenseIds,
  normalizeLicense,
  parseLicenseExpression,
  satisfiesLicenseExpression,
} from "./spdx.ts";

test("hub ids and free text normalise to SPDX ids", () => {
  const cases: Array<[string, string]> = [
    ["apache-2.0", "Apache-2.0"],
    ["Apache 2.0", "Apache-2.0"],
    ["Apache License, Version 2.0", "Apache-2.0"],
    ["mit", "MIT"],
    ["MIT License", "MIT"],
    ["BSD-3", "BSD-3-Clause"],
    ["BSD 3-Clause", "BSD-3-Clause"],
    ["cc-by-4.0", "CC-BY-4.0"],
    ["CC BY-SA 4.0", "CC-BY-SA-4.0"],
    ["cc0-1.0", "CC0-1.0"],
    ["odc-by", "ODC-By-1.0"],
    ["cdla-permissive-2.0", "CDLA-Permissive-2.0"],
    ["llama3.2", "LicenseRef-Llama-3.2-Community"],
    ["Llama 3.2 Community License Agreement", "LicenseRef-Llama-3.2-Community"],
    ["gemma", "LicenseRef-Gemma"],
    ["openrail", "LicenseRef-OpenRAIL"],
    ["bigscience-bloom-rail-1.0", "LicenseRef-BigScience-BLOOM-RAIL-1.0"],
    ["creativeml-openrail-m", "LicenseRef-CreativeML-OpenRAIL-M"],
    ["falcon-llm-license", "LicenseRef-TII-Falcon-LLM-2.0"],
  ];
  for (const [text, id] of cases) {
    const normalized = normalizeLicense(text);
    assert.equal(normalized.expression, id, text);
    assert.equal(normalized.status, "known", text);
    assert.equal(normalized.original, text);
  }
});

test("no license, unknown licenses and unrecognised names are told apart", () => {
  for (const text of ["", "  ", "unlicensed", "License not specified", "none", "NOASSERTION"]) {
    assert.deepEqual(
      [normalizeLicense(text).status, normalizeLicense(text).expression],
      ["none", null],
      text,
    );
  }
  for (const text of ["other", "unknown"]) assert.equal(normalizeLicense(text).status, "unknown", text);
  assert.deepEqual(normalizeLicense("My Company Model License v2"), {
    expression: "LicenseRef-My-Company-Model-License-v2",
    status: "unrecognized",
    original: "My Company Model License v2",
  });
  assert.deepEqual(normalizeLicense("LicenseRef-Acme-1"), {
    expression: "LicenseRef-Acme-1",
    status: "custom",
    original: "LicenseRef-Acme-1",
  });
});

test("compound expressions keep their structure with each part normalised", () => {
  assert.equal(normalizeLicense("apache-2.0 AND cc-by-4.0").expression, "Apache-2.0 AND CC-BY-4.0");
  assert.equal(
    normalizeLicense("(mit OR Apache-2.0) AND CC-BY-4.0").expression,
    "(MIT OR Apache-2.0) AND CC-BY-4.0",
  );
  assert.equal(
    normalizeLicense("Apache-2.0 WITH LLVM-exception").expression,
    "Apache-2.0 WITH LLVM-exception",
  );
  assert.deepEqual(listLicenseIds("(MIT OR Apache-2.0) AND MIT"), ["MIT", "Apache-2.0"]);
  assert.equal(parseLicenseExpression("MIT AND"), undefined);
  assert.equal(parseLicenseExpression("(MIT"), undefined);
});

test("OR lets the licensee choose, AND needs every part", () => {
  const osi = (id: string) => satisfiesLicenseExpression(id, (facts) => facts.osiApproved);
  assert.equal(osi("MIT OR LicenseRef-Gemma"), true);
  assert.equal(osi("MIT AND LicenseRef-Gemma"), false);
  assert.equal(osi("LicenseRef-Unknown"), false);
  assert.deepEqual(getUseRestrictions("MIT OR LicenseRef-Gemma"), []);
  assert.equal(getUseRestrictions("MIT AND LicenseRef-Gemma").length, 1);
});

test("license facts: OSI, open data, open documents, use restrictions", () => {
  const apache = getLicenseFacts("apache-2.0")!;
  assert.equal(apache.osiApproved, true);
  assert.equal(isOpenFor(apache, "data"), false);
  const ccBy = getLicenseFacts("CC-BY-4.0")!;
  assert.deepEqual([ccBy.osiApproved, ccBy.openData, ccBy.openDocument], [false, true, true]);
  assert.equal(getLicenseFacts("CDLA-Permissive-2.0")?.openData, true);
  assert.equal(getLicenseFacts("CC-BY-NC-4.0")?.openDocument, false);
  for (const id of [
    "LicenseRef-Llama-3.2-Community",
    "LicenseRef-Gemma",
    "LicenseRef-OpenRAIL",
    "LicenseRef-CreativeML-OpenRAIL-M",
  ]) {
    const facts = getLicenseFacts(id)!;
    assert.equal(facts.kind, "weights-custom", id);
    assert.equal(facts.osiApproved || facts.openData || facts.openDocument, false, id);
    assert.notEqual(facts.useRestrictions, null, id);
  }
});

test("every known license normalises to itself, and ids are unique", () => {
  const ids = new Set<string>();
  for (const facts of knownLicenses) {
    assert.equal(normalizeLicense(facts.id).expression, facts.id);
    assert.ok(!ids.has(facts.id.toLowerCase()), facts.id);
    ids.add(facts.id.toLowerCase());
  }
});
