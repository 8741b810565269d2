// An administrator's declaration about one model: facts that correct or complete what its GGUF
// header and Ostrom's catalog say (a license correction, disclosed training data, where a Model
// Openness Framework component is published). It is written in the Model Openness Tool's YAML shape
// as an *overlay*: every field is optional and only what is written is declared. Unlike an MOT record,
// a component not listed is not declared at all (it is not "not released"); a listed component is
// released unless it says `availability: not-available` or `unknown` (Ostrom's extension), and it
// replaces everything lower-precedence sources say about that component, so state its license too.
//
//   release:
//     name, version, producer, origin, huggingface | repository        (all optional)
//     license: {distribution | code | data | document: {name, path?}}
//     components: [{name, availability?, license?, license_path?, component_path?, description?}]
//   x-ostrom:
//     base_models: [{name, url?, relation?}], datasets: [{name, url?, license?}]
//     open_source_claim: {text, url}, sources: {<fact path> | default: url}, notes
//     declared_at: set by `ostrom declare` to when it was stored; the facts' date
//
// `framework` and MOT's descriptive release fields (date, type, architecture, contact, treatment)
// are accepted so an MOT file can be used as a start, but declare nothing. Anything else is an error
// naming the bad field (`invalid_provenance_record`, `param` = its path). Pure apart from parsing YAML.

import { parse, YAMLParseError } from "yaml";
import { z } from "zod";
import { OstromError } from "../errors.ts";
import { findMofComponentByName, type MofComponentId } from "./mof-components.ts";
import {
  type BaseModelRef,
  type ComponentValue,
  createLicenseValue,
  type DatasetRef,
  type Fact,
  type LicenseValue,
  type ProvenanceFacts,
} from "./provenance-record.ts";
import { normalizeLicense } from "./spdx.ts";

const text = z.union([z.string(), z.number()]).transform(String);
const nonEmpty = z
  .union([z.string(), z.number()])
  .transform(String)
  .refine((value) => value.trim() !== "", "must not be empty");
const licenseEntry = z.strictObject({ name: nonEmpty, path: text.optional() });
const relations = ["fine-tune", "quantization", "distillation", "merge", "adapter"] as const;

const declarationSchema = z.strictObject({
  framework: z.record(z.string(), z.unknown()).optional(),
  release: z
    .strictObject({
      name: nonEmpty.optional(),
      version: nonEmpty.optional(),
      producer: nonEmpty.optional(),
      origin: text.optional(),
      huggingface: nonEmpty.optional(),
      repository: nonEmpty.optional(),
      license: z
        .strictObject({
          distribution: licenseEntry.optional(),
          code: licenseEntry.optional(),
          data: licenseEntry.optional(),
          document: licenseEntry.optional(),
        })
        .optional(),
      components: z
        .array(
          z.strictObject({
            name: nonEmpty,
            description: text.optional(),
            availability: z.enum(["available", "not-available", "unknown"]).optional(),
            license: nonEmpty.optional(),
            license_path: text.optional(),
            component_path: text.optional(),
          }),
        )
        .max(17)
        .optional(),
      // Descriptive MOT fields: accepted, not facts.
      date: text.optional(),
      type: text.optional(),
      architecture: text.optional(),
      contact: text.optional(),
      treatment: text.optional(),
    })
    .optional(),
  "x-ostrom": z
    .strictObject({
      base_models: z
        .array(
          z.strictObject({
            name: nonEmpty,
            url: nonEmpty.optional(),
            relation: z.enum(relations).optional(),
          }),
        )
        .max(100)
        .optional(),
      datasets: z
        .array(z.strictObject({ name: nonEmpty, url: nonEmpty.optional(), license: nonEmpty.optional() }))
        .max(1000)
        .optional(),
      open_source_claim: z.strictObject({ text: nonEmpty, url: nonEmpty }).optional(),
      sources: z.record(z.string(), nonEmpty).optional(),
      notes: text.optional(),
      declared_at: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
});

export type AdminDeclaration = z.infer<typeof declarationSchema>;

/** Parses and validates declaration YAML; `file` names it in error messages. */
export function parseAdminDeclaration(yamlText: string, file = "declaration"): AdminDeclaration {
  let data: unknown;
  try {
    data = parse(yamlText, { prettyErrors: false, uniqueKeys: true, maxAliasCount: 10 });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : "";
    throw new OstromError("invalid_provenance_record", `${file}: not valid YAML${where}.`, {
      param: "",
      cause: error,
    });
  }
  return readAdminDeclaration(data, file);
}

/** Validates an already-parsed declaration. */
export function readAdminDeclaration(data: unknown, file = "declaration"): AdminDeclaration {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    fail(file, "", "must be a mapping with `release` and/or `x-ostrom`");
  }
  const result = declarationSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      const path = issue.path.filter((part): part is string | number => typeof part !== "symbol");
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: "unknown field" }));
      }
      return [{ path: formatPath(path), message: issue.message }];
    });
    const first = problems[0];
    throw new OstromError(
      "invalid_provenance_record",
      `${file}: ${problems.map((problem) => `${problem.path || "the document"}: ${problem.message}`).join("; ")}.`,
      { param: first?.path ?? "" },
    );
  }
  const declaration = result.data;
  const release = declaration.release;
  for (const [slot, entry] of Object.entries(release?.license ?? {})) {
    if (entry !== undefined) checkLicense(file, `release.license.${slot}.name`, entry.name);
  }
  const seen = new Set<MofComponentId>();
  for (const [index, component] of (release?.components ?? []).entries()) {
    const path = `release.components[${index}]`;
    const known = findMofComponentByName(component.name);
    if (known === undefined) fail(file, `${path}.name`, `"${component.name}" is not an MOF component`);
    if (seen.has(known.id)) fail(file, `${path}.name`, `"${component.name}" is listed twice`);
    seen.add(known.id);
    if (component.license !== undefined) checkLicense(file, `${path}.license`, component.license);
    if (component.availability !== undefined && component.availability !== "available") {
      if (component.license !== undefined || component.component_path !== undefined) {
        fail(
          file,
          `${path}.availability`,
          `a component that is ${component.availability} has no license or path`,
        );
      }
    }
  }
  for (const [index, dataset] of (declaration["x-ostrom"]?.datasets ?? []).entries()) {
    if (dataset.license !== undefined)
      checkLicense(file, `x-ostrom.datasets[${index}].license`, dataset.license);
  }
  if (Object.keys(getDeclaredFacts(declaration, {})).length === 0 && !hasComponents(declaration)) {
    fail(file, "", "declares no fact (expected release.license, release.components, x-ostrom.datasets, …)");
  }
  return declaration;
}

export interface DeclaredFactsOptions {
  /** When the declaration was stored; used when it has no `x-ostrom.declared_at`. */
  readonly date?: string;
}

/** The declaration as provenance facts with source `declared`; only what it states. */
export function getDeclaredFacts(
  declaration: AdminDeclaration,
  options: DeclaredFactsOptions,
): ProvenanceFacts {
  const release = declaration.release ?? {};
  const ext = declaration["x-ostrom"] ?? {};
  const sources = ext.sources ?? {};
  const date = ext.declared_at ?? options.date ?? null;
  const facts: Record<string, unknown> = {};
  const put = <T>(field: string, value: T | undefined, sourceKey: string, url?: string | null) => {
    if (value === undefined) return;
    const fact: Fact<T> = {
      value,
      source: "declared",
      url: url ?? sources[sourceKey] ?? sources.default ?? null,
      date,
    };
    facts[field] = fact;
  };
  const license = (slot: "distribution" | "code" | "data" | "document"): LicenseValue | undefined => {
    const entry = release.license?.[slot];
    return entry === undefined ? undefined : createLicenseValue(entry.name, nonBlank(entry.path) ?? null);
  };

  put("name", release.name, "release.name");
  put("version", release.version, "release.version");
  put("producer", release.producer, "release.producer");
  put("sourceUrl", release.huggingface ?? release.repository, "release.huggingface");
  put("license", license("distribution"), "release.license.distribution");
  put("codeLicense", license("code"), "release.license.code");
  put("dataLicense", license("data"), "release.license.data");
  put("documentLicense", license("document"), "release.license.document");
  const origin = nonBlank(release.origin);
  const baseModels: BaseModelRef[] | undefined =
    ext.base_models?.map((base) => ({
      name: base.name,
      organization: null,
      url: base.url ?? null,
      relation: base.relation ?? "unknown",
    })) ??
    (origin === undefined
      ? undefined
      : [{ name: origin, organization: null, url: null, relation: "unknown" }]);
  put("baseModels", baseModels, "base_models");
  const datasets: DatasetRef[] | undefined = ext.datasets?.map((dataset) => ({
    name: dataset.name,
    url: dataset.url ?? null,
    license: dataset.license === undefined ? null : createLicenseValue(dataset.license),
  }));
  put("datasets", datasets, "datasets");
  put("openSourceClaim", ext.open_source_claim?.text, "open_source_claim", ext.open_source_claim?.url);

  if (hasComponents(declaration)) {
    const components: Partial<Record<MofComponentId, Fact<ComponentValue>>> = {};
    for (const component of release.components ?? []) {
      const known = findMofComponentByName(component.name);
      if (known === undefined) continue; // rejected by readAdminDeclaration
      components[known.id] = {
        value: {
          availability: component.availability ?? "available",
          license:
            component.license === undefined
              ? null
              : createLicenseValue(component.license, nonBlank(component.license_path) ?? null),
          url: nonBlank(component.component_path) ?? null,
        },
        source: "declared",
        url: sources[`components.${known.name}`] ?? sources.default ?? null,
        date,
      };
    }
    facts.components = components;
  }
  return facts as ProvenanceFacts;
}

function hasComponents(declaration: AdminDeclaration): boolean {
  return (declaration.release?.components?.length ?? 0) > 0;
}

function checkLicense(file: string, path: string, license: string): void {
  if (normalizeLicense(license).status === "unrecognized") {
    fail(
      file,
      path,
      `"${license}" is not a license Ostrom recognises; use an SPDX id (e.g. Apache-2.0), an SPDX expression, or a LicenseRef- id`,
    );
  }
}

function fail(file: string, path: string, problem: string): never {
  throw new OstromError(
    "invalid_provenance_record",
    `${file}: ${path === "" ? "the document" : path} ${problem}.`,
    {
      param: path,
    },
  );
}

function formatPath(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : text === "" ? part : `${text}.${part}`),
    "",
  );
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
