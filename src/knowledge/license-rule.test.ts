import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { createLicenseRule } from "./license-rule.ts";

test("an empty rule excludes nothing, not even unspecified", () => {
  const rule = createLicenseRule([]);
  for (const license of ["MIT", "unspecified", "CC-BY-NC-4.0", "LicenseRef-internal"])
    assert.equal(rule.isExcluded(license), false, license);
});

test("identifiers and patterns match whole identifiers, ignoring case", () => {
  const rule = createLicenseRule(["CC-BY-NC-*", "unspecified", "gpl-3.0"]);
  assert.equal(rule.isExcluded("CC-BY-NC-4.0"), true);
  assert.equal(rule.isExcluded("CC-BY-NC-SA-4.0"), true);
  assert.equal(rule.isExcluded("CC-BY-4.0"), false);
  assert.equal(rule.isExcluded("unspecified"), true);
  assert.equal(rule.isExcluded("GPL-3.0"), true);
  assert.equal(rule.isExcluded("LGPL-3.0"), false, "no match inside an identifier");
  assert.equal(rule.isExcluded("GPL-3.0+"), false, "the + form is a different identifier");
});

test("expressions: OR needs one usable alternative, AND and WITH need every part", () => {
  const rule = createLicenseRule(["GPL-3.0"]);
  assert.equal(rule.isExcluded("MIT OR GPL-3.0"), false);
  assert.equal(rule.isExcluded("MIT AND GPL-3.0"), true);
  assert.equal(rule.isExcluded("(GPL-3.0 WITH Classpath-exception-2.0) OR (GPL-3.0 AND MIT)"), true);
  assert.equal(rule.isExcluded("(GPL-3.0 AND MIT) OR Apache-2.0"), false);
});

test("a malformed pattern is refused, naming the setting", () => {
  assert.throws(
    () => createLicenseRule(["CC BY"]),
    (error: unknown) =>
      isOstromError(error, "invalid_parameter") && error.param === "knowledge_excluded_licenses",
  );
});
