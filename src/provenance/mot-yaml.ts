// Reads and writes the Model Openness Tool's per-model YAML (github.com/lfai/model_openness_tool,
// `models/*.yml`), so records can be exchanged with that public tool:
//
//   framework: {name: 'Model Openness Framework', version: '1.0', date: '2024-12-15'}
//   release:
//     name, version, date, type, architecture, origin, producer, contact, repository?, huggingface?
//     license: {distribution?: {name, path}, code?: {…}, data?: {…}, document?: {…}}
//     components: [{name, description, license?, license_path?, component_path?}]
//
// A component listed is "included"; one not listed is not. `license: unlicensed` says it has none.
// Ostrom adds one extension, `x-ostrom` (see `OstromExtension`), for what MOT has no field for:
// source URLs per fact, aliases, lineage, datasets. Unknown keys anywhere are kept and written back,
// so a round trip loses nothing. Errors are OstromError("invalid_provenance_record") whose `param` is
// the path of the bad field. Depends on the `yaml` package, the error catalog and the MOF component list.

import { parse, stringify, YAMLParseError } from "yaml";
import { OstromError } from "../errors.ts";
import { findMofComponentByName, mofComponents } from "./mof-components.ts";

export interface MotLicense {
  readonly name: string;
  /** URL or path of the license text; "" when not given. */
  readonly path: string;
}

export type MotLicenseSlot = "distribution" | "code" | "data" | "document";

export interface MotComponent {
  /** An MOF component name, e.g. "Model parameters (Final)". */
  readonly name: string;
  readonly description: string;
  /** The component's own license as written (SPDX id, free text, or "unlicensed"). */
  readonly license?: string;
  readonly license_path?: string;
  /** Where the component is published. */
  readonly component_path?: string;
  /** Keys Ostrom does not model, kept for writing back. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface MotRelease {
  readonly name: string;
  readonly version: string;
  readonly date: string;
  readonly type: string;
  readonly architecture: string;
  /** The model this one derives from, by name; "" for none. */
  readonly origin: string;
  readonly producer: string;
  readonly contact: string;
  readonly repository?: string;
  readonly huggingface?: string;
  readonly treatment?: string;
  readonly license: Readonly<Partial<Record<MotLicenseSlot, MotLicense>>>;
  readonly components: readonly MotComponent[];
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface OstromBaseModel {
  readonly name: string;
  readonly url?: string;
  readonly relation?: "fine-tune" | "quantization" | "distillation" | "merge" | "adapter";
}

export interface OstromDataset {
  readonly name: string;
  readonly url?: string;
  /** As written; omit when the source does not say. */
  readonly license?: string;
}

/** Ostrom's `x-ostrom` extension to the MOT format. */
export interface OstromExtension {
  /** Date (YYYY-MM-DD) the facts were last checked against their sources. */
  readonly checked?: string;
  /** Other names: hub repositories, GGUF `general.name` / `general.basename` values. */
  readonly aliases?: readonly string[];
  readonly base_models?: readonly OstromBaseModel[];
  readonly datasets?: readonly OstromDataset[];
  /** How the producer calls the model open source, with where it says so. */
  readonly open_source_claim?: { readonly text: string; readonly url: string };
  /** Component names whose release could not be verified either way. */
  readonly unknown?: readonly string[];
  /**
   * Source URL for each fact, keyed by its path: `release.license.distribution`, `release.origin`,
   * `components.<component name>`, `datasets`, `base_models`, `open_source_claim`, or `default`.
   */
  readonly sources?: Readonly<Record<string, string>>;
  readonly notes?: string;
}

export interface MotRecord {
  readonly framework: { readonly name: string; readonly version: string; readonly date: string };
  readonly release: MotRelease;
  readonly ostrom?: OstromExtension;
  readonly extra?: Readonly<Record<string, unknown>>;
}

const licenseSlots: readonly MotLicenseSlot[] = ["distribution", "code", "data", "document"];
const releaseKeys = [
  "name",
  "version",
  "date",
  "type",
  "architecture",
  "origin",
  "producer",
  "contact",
  "repository",
  "huggingface",
  "treatment",
  "license",
  "components",
];
const componentKeys = ["name", "description", "license", "license_path", "component_path"];
const relations = new Set(["fine-tune", "quantization", "distillation", "merge", "adapter"]);

/** Parses MOT YAML text; `file` names it in error messages. */
export function parseMotYaml(text: string, file = "record"): MotRecord {
  let data: unknown;
  try {
    data = parse(text, { prettyErrors: false, uniqueKeys: true, maxAliasCount: 10 });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : "";
    throw new OstromError("invalid_provenance_record", `${file}: not valid YAML${where}.`, {
      param: "",
      cause: error,
    });
  }
  return readMotRecord(data, file);
}

/** Validates an already-parsed MOT record (e.g. from JSON). */
export function readMotRecord(data: unknown, file = "record"): MotRecord {
  const reader: FieldReader = new FieldReader(file);
  const root = reader.object(data, "");
  const framework = reader.object(root.framework, "framework");
  const release = reader.object(root.release, "release");
  const licenseObject =
    release.license === undefined || release.license === null
      ? {}
      : reader.object(release.license, "release.license");
  const license: Partial<Record<MotLicenseSlot, MotLicense>> = {};
  for (const [slot, value] of Object.entries(licenseObject)) {
    const path = `release.license.${slot}`;
    if (!(licenseSlots as readonly string[]).includes(slot)) {
      reader.fail(path, `unknown license slot "${slot}" (expected ${licenseSlots.join(", ")})`);
    }
    if (value === null || value === undefined) continue;
    const entry = reader.object(value, path);
    license[slot as MotLicenseSlot] = {
      name: reader.string(entry.name, `${path}.name`),
      path: reader.optionalString(entry.path, `${path}.path`) ?? "",
    };
  }
  const componentList =
    release.components === undefined || release.components === null
      ? []
      : reader.array(release.components, "release.components");
  const components = componentList.map((item, index): MotComponent => {
    const path = `release.components[${index}]`;
    const entry = reader.object(item, path);
    const component: MotComponent = {
      name: reader.string(entry.name, `${path}.name`, true),
      description: reader.optionalString(entry.description, `${path}.description`) ?? "",
      ...optional("license", reader.optionalString(entry.license, `${path}.license`)),
      ...optional("license_path", reader.optionalString(entry.license_path, `${path}.license_path`)),
      ...optional("component_path", reader.optionalString(entry.component_path, `${path}.component_path`)),
      ...extraOf(entry, componentKeys),
    };
    return component;
  });
  const names = new Set<string>();
  for (const [index, component] of components.entries()) {
    const known = findMofComponentByName(component.name);
    if (known === undefined) {
      reader.fail(
        `release.components[${index}].name`,
        `"${component.name}" is not an MOF component (expected one of: ${mofComponents.map((c) => c.name).join(", ")})`,
      );
    }
    const key = known.id;
    if (names.has(key))
      reader.fail(`release.components[${index}].name`, `component "${component.name}" is listed twice`);
    names.add(key);
  }

  const rootExtra = extraOf(root, ["framework", "release", "x-ostrom"]);
  return {
    framework: {
      name: reader.string(framework.name, "framework.name", true),
      version: reader.string(framework.version, "framework.version"),
      date: reader.string(framework.date, "framework.date"),
    },
    release: {
      name: reader.string(release.name, "release.name", true),
      version: reader.optionalString(release.version, "release.version") ?? "",
      date: reader.optionalString(release.date, "release.date") ?? "",
      type: reader.optionalString(release.type, "release.type") ?? "",
      architecture: reader.optionalString(release.architecture, "release.architecture") ?? "",
      origin: reader.optionalString(release.origin, "release.origin") ?? "",
      producer: reader.optionalString(release.producer, "release.producer") ?? "",
      contact: reader.optionalString(release.contact, "release.contact") ?? "",
      ...optional("repository", reader.optionalString(release.repository, "release.repository")),
      ...optional("huggingface", reader.optionalString(release.huggingface, "release.huggingface")),
      ...optional("treatment", reader.optionalString(release.treatment, "release.treatment")),
      license,
      components,
      ...extraOf(release, releaseKeys),
    },
    ...optional(
      "ostrom",
      root["x-ostrom"] === undefined ? undefined : readExtension(reader, root["x-ostrom"]),
    ),
    ...(rootExtra.extra === undefined ? {} : rootExtra),
  };
}

function readExtension(reader: FieldReader, value: unknown): OstromExtension {
  const base = "x-ostrom";
  const ext = reader.object(value, base);
  const known = [
    "checked",
    "aliases",
    "base_models",
    "datasets",
    "open_source_claim",
    "unknown",
    "sources",
    "notes",
  ];
  for (const key of Object.keys(ext)) {
    if (!known.includes(key))
      reader.fail(`${base}.${key}`, `unknown field (expected one of ${known.join(", ")})`);
  }
  const strings = (field: string) =>
    ext[field] === undefined
      ? undefined
      : reader
          .array(ext[field], `${base}.${field}`)
          .map((item, index) => reader.string(item, `${base}.${field}[${index}]`, true));
  const checked = reader.optionalString(ext.checked, `${base}.checked`);
  if (checked !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(checked))
    reader.fail(`${base}.checked`, "must be a date, YYYY-MM-DD");
  const baseModels =
    ext.base_models === undefined
      ? undefined
      : reader.array(ext.base_models, `${base}.base_models`).map((item, index): OstromBaseModel => {
          const path = `${base}.base_models[${index}]`;
          const entry = reader.object(item, path);
          const relation = reader.optionalString(entry.relation, `${path}.relation`);
          if (relation !== undefined && !relations.has(relation)) {
            reader.fail(`${path}.relation`, `must be one of ${[...relations].join(", ")}`);
          }
          return {
            name: reader.string(entry.name, `${path}.name`, true),
            ...optional("url", reader.optionalString(entry.url, `${path}.url`)),
            ...optional("relation", relation as OstromBaseModel["relation"]),
          };
        });
  const datasets =
    ext.datasets === undefined
      ? undefined
      : reader.array(ext.datasets, `${base}.datasets`).map((item, index): OstromDataset => {
          const path = `${base}.datasets[${index}]`;
          const entry = reader.object(item, path);
          return {
            name: reader.string(entry.name, `${path}.name`, true),
            ...optional("url", reader.optionalString(entry.url, `${path}.url`)),
            ...optional("license", reader.optionalString(entry.license, `${path}.license`)),
          };
        });
  let claim: OstromExtension["open_source_claim"];
  if (ext.open_source_claim !== undefined) {
    const entry = reader.object(ext.open_source_claim, `${base}.open_source_claim`);
    claim = {
      text: reader.string(entry.text, `${base}.open_source_claim.text`, true),
      url: reader.string(entry.url, `${base}.open_source_claim.url`, true),
    };
  }
  let sources: Record<string, string> | undefined;
  if (ext.sources !== undefined) {
    sources = {};
    for (const [key, url] of Object.entries(reader.object(ext.sources, `${base}.sources`))) {
      sources[key] = reader.string(url, `${base}.sources.${key}`, true);
    }
  }
  return {
    ...optional("checked", checked),
    ...optional("aliases", strings("aliases")),
    ...optional("base_models", baseModels),
    ...optional("datasets", datasets),
    ...optional("open_source_claim", claim),
    ...optional("unknown", strings("unknown")),
    ...optional("sources", sources),
    ...optional("notes", reader.optionalString(ext.notes, `${base}.notes`)),
  };
}

/** Writes a record as MOT YAML, keys in the MOT tool's order; `header` becomes a leading comment. */
export function formatMotYaml(record: MotRecord, header?: string): string {
  const { release } = record;
  const license: Record<string, unknown> = {};
  for (const slot of licenseSlots) {
    const entry = release.license[slot];
    if (entry !== undefined) license[slot] = { name: entry.name, path: entry.path };
  }
  const data: Record<string, unknown> = {
    framework: {
      name: record.framework.name,
      version: record.framework.version,
      date: record.framework.date,
    },
    release: {
      name: release.name,
      version: release.version,
      date: release.date,
      type: release.type,
      architecture: release.architecture,
      origin: release.origin,
      producer: release.producer,
      contact: release.contact,
      ...optional("repository", release.repository),
      ...optional("huggingface", release.huggingface),
      ...optional("treatment", release.treatment),
      license,
      components: release.components.map((component) => ({
        name: component.name,
        description: component.description,
        ...optional("license", component.license),
        ...optional("license_path", component.license_path),
        ...optional("component_path", component.component_path),
        ...component.extra,
      })),
      ...release.extra,
    },
    ...record.extra,
    ...optional("x-ostrom", record.ostrom),
  };
  const body = stringify(data, { lineWidth: 0, defaultStringType: "PLAIN", defaultKeyType: "PLAIN" });
  const comment =
    header === undefined
      ? ""
      : `${header
          .split("\n")
          .map((line) => (line === "" ? "#" : `# ${line}`))
          .join("\n")}\n`;
  return comment + body;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function extraOf(
  object: Record<string, unknown>,
  known: readonly string[],
): { extra?: Record<string, unknown> } {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (!known.includes(key)) extra[key] = value;
  return Object.keys(extra).length === 0 ? {} : { extra };
}

class FieldReader {
  readonly #file: string;
  constructor(file: string) {
    this.#file = file;
  }

  fail(path: string, problem: string): never {
    throw new OstromError(
      "invalid_provenance_record",
      `${this.#file}: ${path === "" ? "the document" : path} ${problem}.`,
      {
        param: path,
      },
    );
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(path, value === undefined ? "is missing" : "must be a mapping");
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, value === undefined ? "is missing" : "must be a list");
    return value;
  }

  /** A string; numbers are accepted and kept as their text (YAML reads `version: 7` as a number). */
  string(value: unknown, path: string, nonEmpty = false): string {
    if (value === undefined || value === null) this.fail(path, "is missing");
    const text = typeof value === "number" ? String(value) : value;
    if (typeof text !== "string") this.fail(path, "must be a string");
    if (nonEmpty && text.trim() === "") this.fail(path, "must not be empty");
    return text;
  }

  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, path);
  }
}
