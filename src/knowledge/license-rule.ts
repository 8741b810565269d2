// The rule deciding which documents may ground an answer, from their license: a list of SPDX
// identifiers or patterns (`*` matches any run of characters, e.g. `CC-BY-NC-*`) that are excluded.
// An SPDX expression is usable when some `OR` alternative has no excluded identifier (`AND` and
// `WITH` need every part). `unspecified` is matched like any identifier, so it is allowed unless listed.
// Pure; depends only on the errors catalog.
import { invalidParameter } from "../errors.ts";

export interface LicenseRule {
  /** The patterns as configured, for messages. */
  readonly excluded: readonly string[];
  /** True when a document under `license` must not be used. */
  isExcluded(license: string): boolean;
}

const patternSyntax = /^[A-Za-z0-9.*+-]+$/;

/** Builds the rule from excluded identifiers or patterns; matching ignores case, as SPDX does. */
export function createLicenseRule(
  excluded: readonly string[],
  param = "knowledge_excluded_licenses",
): LicenseRule {
  const patterns = excluded.map((text) => {
    const trimmed = text.trim();
    if (!patternSyntax.test(trimmed))
      throw invalidParameter(
        param,
        `"${text}" is not an SPDX license identifier or pattern (letters, digits, '.', '-', '+' and '*').`,
      );
    const source = trimmed
      .split("*")
      .map((part) => part.replace(/[.+]/g, (character) => `\\${character}`))
      .join(".*");
    return new RegExp(`^${source}$`, "i");
  });
  const isIdentifierExcluded = (identifier: string) => patterns.some((pattern) => pattern.test(identifier));
  return {
    excluded: excluded.map((text) => text.trim()),
    isExcluded(license) {
      if (patterns.length === 0) return false;
      const alternatives = license
        .replace(/[()]/g, " ")
        .split(/\s+OR\s+/i)
        .map((alternative) =>
          alternative
            .split(/\s+(?:AND|WITH)\s+/i)
            .map((part) => part.trim())
            .filter((part) => part !== ""),
        );
      return !alternatives.some((identifiers) => !identifiers.some(isIdentifierExcluded));
    },
  };
}
