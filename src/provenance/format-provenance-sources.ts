// The "Sources" part of `ostrom inspect`'s openness card: one line per known fact with its value,
// where it came from (gguf, catalog, declared, signature), when and where to check it, and what it
// overrode. Pure text formatting; depends only on the record types.

import { mofComponents } from "./mof-components.ts";
import {
  type Fact,
  type LicenseValue,
  type ProvenanceField,
  type ProvenanceRecord,
  provenanceFieldNames,
  type SourcedFact,
} from "./provenance-record.ts";

const maxValueLength = 100;

export function formatProvenanceSources(record: ProvenanceRecord): string {
  const lines: string[] = [];
  for (const field of provenanceFieldNames) {
    const fact = record[field] as SourcedFact<unknown> | undefined;
    if (fact !== undefined) lines.push(formatLine(field, fact, (value) => describeValue(field, value)));
  }
  for (const component of mofComponents) {
    const fact = record.components[component.id];
    if (fact === undefined) continue;
    lines.push(
      formatLine(component.name, fact, (value) => {
        const license = value.license === null ? "" : ` (${describeLicense(value.license)})`;
        return `${value.availability}${license}`;
      }),
    );
  }
  return lines.length === 0 ? "  (no facts)\n" : `${lines.join("\n")}\n`;
}

function formatLine<T>(label: string, fact: SourcedFact<T>, describe: (value: T) => string): string {
  // A GGUF fact's URL is the model file itself: not worth repeating on every line.
  const origin = (item: Fact<T>) =>
    [item.source, item.date?.slice(0, 10), item.source === "gguf" ? null : item.url]
      .filter((part) => part !== undefined && part !== null)
      .join(", ");
  const overridden =
    fact.overridden.length === 0
      ? ""
      : `; overrides ${fact.overridden.map((item) => `${item.source}: ${describe(item.value)}`).join(", ")}`;
  return `  ${label.padEnd(32)} ${truncate(describe(fact.value))}  [${origin(fact)}${overridden}]`;
}

function describeValue(field: ProvenanceField, value: unknown): string {
  switch (field) {
    case "license":
    case "codeLicense":
    case "dataLicense":
    case "documentLicense":
      return describeLicense(value as LicenseValue);
    case "baseModels":
    case "datasets":
      return (value as ReadonlyArray<{ name: string }>).map((item) => item.name).join(", ");
    case "signer": {
      const signer = value as { name: string | null; keyFingerprint: string };
      return `${signer.name ?? "unnamed"} (key ${signer.keyFingerprint})`;
    }
    default:
      return Array.isArray(value) ? value.join(", ") : String(value);
  }
}

function describeLicense(license: LicenseValue): string {
  return license.expression ?? (license.original.trim() || license.status);
}

function truncate(text: string): string {
  return text.length <= maxValueLength ? text : `${text.slice(0, maxValueLength - 1)}…`;
}
