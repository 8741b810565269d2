// License and attribution given at ingestion. A license is an SPDX expression ("CC-BY-4.0",
// "MIT OR Apache-2.0", "LicenseRef-internal") or `unspecified` when unknown, shown as such.
import { OstromError } from "../errors.ts";

export const unspecifiedLicense = "unspecified";

const identifier = "(?:[A-Za-z0-9][A-Za-z0-9.-]*\\+?)";
const expression = new RegExp(`^\\(*${identifier}(?:\\)*\\s+(?:AND|OR|WITH)\\s+\\(*${identifier})*\\)*$`);

/** Validates and normalizes a license given by the user; empty means unspecified. */
export function parseLicense(license: string | undefined): string {
  const trimmed = license?.trim() ?? "";
  if (trimmed === "" || trimmed.toLowerCase() === unspecifiedLicense) return unspecifiedLicense;
  if (trimmed.length > 256 || !expression.test(trimmed))
    throw new OstromError(
      "invalid_parameter",
      `"${trimmed}" is not an SPDX license expression (e.g. CC-BY-4.0, MIT OR Apache-2.0) or "unspecified".`,
      { param: "license" },
    );
  return trimmed;
}
