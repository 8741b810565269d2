// A model's provenance record: what it is, under which license, what it was built from, who signed it
// and which of the Model Openness Framework's components are released, each fact carrying where it
// came from (the GGUF file itself, Ostrom's catalog, an administrator's declaration, or a verified
// signature) and when, so people can check it. `mergeProvenance` combines the sources with precedence
// signature > declared > catalog > gguf, keeping the facts that lost so conflicts can be shown. Pure;
// depends only on the GGUF summary type and the license normaliser.

import type { GgufPlainValue } from "../gguf/gguf-metadata-values.ts";
import type { GgufSummary } from "../gguf/summarize-gguf.ts";
import { type MofComponentId, mofComponents } from "./mof-components.ts";
import { type LicenseStatus, normalizeLicense } from "./spdx.ts";

/**
 * `declared`: an administrator's declaration (`ostrom declare`); `signature`: a detached signature
 * verified over the file's digest, which states only who signed.
 */
export type FactSource = "gguf" | "catalog" | "declared" | "signature";

/** Higher wins. */
const precedence: Record<FactSource, number> = { gguf: 0, catalog: 1, declared: 2, signature: 3 };

export interface Fact<T> {
  readonly value: T;
  readonly source: FactSource;
  /** Where the fact can be checked: a web page, a repository, or the file it was read from. */
  readonly url: string | null;
  /** ISO 8601 date (or date-time) when the fact was read, checked or declared. */
  readonly date: string | null;
}

export interface SourcedFact<T> extends Fact<T> {
  /** Facts from lower-precedence sources, kept to show conflicts; highest precedence first. */
  readonly overridden: readonly Fact<T>[];
}

export interface LicenseValue {
  /** Normalised SPDX expression; null when there is no license or it is unknown. */
  readonly expression: string | null;
  readonly status: LicenseStatus;
  /** As written at the source. */
  readonly original: string;
  /** Where the license text is, if the source says. */
  readonly url: string | null;
}

export interface BaseModelRef {
  readonly name: string;
  readonly organization: string | null;
  /** Hub repository or page of the base model. */
  readonly url: string | null;
  /** How this model derives from it, when known. */
  readonly relation: "fine-tune" | "quantization" | "distillation" | "merge" | "adapter" | "unknown";
}

export interface DatasetRef {
  readonly name: string;
  readonly url: string | null;
  /** Null when the source does not say. */
  readonly license: LicenseValue | null;
}

/** Who signed the model file, from a verified detached signature over its digest. */
export interface SignerValue {
  readonly algorithm: "ed25519";
  /** `sha256:<hex>` of the public key's DER (SubjectPublicKeyInfo) encoding. */
  readonly keyFingerprint: string;
  /** Who holds the key, as the key file or the importer names it; null when unnamed. */
  readonly name: string | null;
}

/** `unknown`: no source says whether the component is released. */
export type Availability = "available" | "not-available" | "unknown";

export interface ComponentValue {
  readonly availability: Availability;
  /** The component's own license; null when it names none (then it may inherit a global license). */
  readonly license: LicenseValue | null;
  /** Where the component is published. */
  readonly url: string | null;
}

/** Every single-valued fact a record holds, by name. */
export interface ProvenanceValues {
  readonly name: string;
  readonly version: string;
  readonly producer: string;
  /** `sha256:<hex>` of the GGUF file. */
  readonly digest: string;
  readonly fileSize: number;
  readonly architecture: string;
  readonly parameterCount: number;
  readonly quantization: string;
  /** The license of the distribution as a whole (MOT `release.license.distribution`). */
  readonly license: LicenseValue;
  /** Global license for code components, data components and documents (MOT `release.license.*`). */
  readonly codeLicense: LicenseValue;
  readonly dataLicense: LicenseValue;
  readonly documentLicense: LicenseValue;
  readonly baseModels: readonly BaseModelRef[];
  readonly datasets: readonly DatasetRef[];
  /** Where the weights were published (hub page, repository). */
  readonly sourceUrl: string;
  /** How the producer describes the model as "open source", quoted, if it does. */
  readonly openSourceClaim: string;
  readonly tags: readonly string[];
  readonly languages: readonly string[];
  readonly quantizedBy: string;
  readonly signer: SignerValue;
}

export type ProvenanceField = keyof ProvenanceValues;

/** What one source says: any subset of the facts. */
export type ProvenanceFacts = { readonly [K in ProvenanceField]?: Fact<ProvenanceValues[K]> } & {
  readonly components?: Partial<Record<MofComponentId, Fact<ComponentValue>>>;
};

/** The merged record: each fact from the highest-precedence source that has it. */
export type ProvenanceRecord = {
  readonly [K in ProvenanceField]: SourcedFact<ProvenanceValues[K]> | undefined;
} & {
  readonly components: Readonly<Record<MofComponentId, SourcedFact<ComponentValue> | undefined>>;
};

const fieldNames = [
  "name",
  "version",
  "producer",
  "digest",
  "fileSize",
  "architecture",
  "parameterCount",
  "quantization",
  "license",
  "codeLicense",
  "dataLicense",
  "documentLicense",
  "baseModels",
  "datasets",
  "sourceUrl",
  "openSourceClaim",
  "tags",
  "languages",
  "quantizedBy",
  "signer",
] as const satisfies readonly ProvenanceField[];

// A test checks the list above names every field.
export const provenanceFieldNames: readonly ProvenanceField[] = fieldNames;

/** What Ostrom knows about a GGUF file besides its header. */
export interface GgufEvidence {
  readonly summary: GgufSummary;
  /** `sha256:<hex>` from the store, when the file is in it. */
  readonly digest?: string;
  /** The file's path, recorded as the facts' `url`. */
  readonly path?: string;
  /** When the file was read; default: now. */
  readonly readAt?: string;
}

/**
 * Merges what the GGUF file, the catalog, the administrator and a verified signature say; each fact
 * and each MOF component separately goes to the highest-precedence source (signature > declared >
 * catalog > gguf) that has it. Losing facts are kept in `overridden`.
 */
export function mergeProvenance(
  gguf: GgufEvidence | undefined,
  catalog?: ProvenanceFacts,
  declared?: ProvenanceFacts,
  signature?: ProvenanceFacts,
): ProvenanceRecord {
  const ggufFacts = gguf === undefined ? undefined : getGgufFacts(gguf);
  const sources = [signature, declared, catalog, ggufFacts].filter(
    (facts): facts is ProvenanceFacts => facts !== undefined,
  );
  const record: Record<string, unknown> = {};
  for (const field of fieldNames) {
    record[field] = mergeFacts(sources.map((facts) => facts[field] as Fact<unknown> | undefined));
  }
  const components: Partial<Record<MofComponentId, SourcedFact<ComponentValue> | undefined>> = {};
  for (const component of mofComponents) {
    components[component.id] = mergeFacts(sources.map((facts) => facts.components?.[component.id]));
  }
  record.components = components;
  return record as ProvenanceRecord;
}

function mergeFacts<T>(facts: ReadonlyArray<Fact<T> | undefined>): SourcedFact<T> | undefined {
  const present = facts
    .filter((fact): fact is Fact<T> => fact !== undefined)
    .sort((a, b) => precedence[b.source] - precedence[a.source]);
  const [winner, ...losers] = present;
  return winner === undefined ? undefined : { ...winner, overridden: losers };
}

/** True when a lower-precedence source disagrees with the value that won. */
export function hasConflict<T>(fact: SourcedFact<T> | undefined): boolean {
  if (fact === undefined) return false;
  const key = JSON.stringify(comparable(fact.value));
  return fact.overridden.some((other) => JSON.stringify(comparable(other.value)) !== key);
}

function comparable(value: unknown): unknown {
  // Licenses agree when their expressions do, however they were written.
  if (typeof value === "object" && value !== null && "expression" in value && "status" in value) {
    const license = value as LicenseValue;
    return license.expression ?? license.status;
  }
  return value;
}

/** A license value from text as written at a source. */
export function createLicenseValue(text: string, url: string | null = null): LicenseValue {
  const normalized = normalizeLicense(text);
  return { expression: normalized.expression, status: normalized.status, original: text, url };
}

/** The facts a GGUF header states about itself (source `gguf`). */
export function getGgufFacts(evidence: GgufEvidence): ProvenanceFacts {
  const { summary } = evidence;
  const origin = {
    source: "gguf" as const,
    url: evidence.path ?? null,
    date: evidence.readAt ?? new Date().toISOString(),
  };
  const fact = <T>(value: T | null | undefined): Fact<T> | undefined =>
    value === null || value === undefined ? undefined : { value, ...origin };
  const keys = summary.provenance;
  const text = (key: string): string | undefined => {
    const value = keys[key];
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const list = (key: string): string[] | undefined => {
    const value: GgufPlainValue | undefined = keys[key];
    if (Array.isArray(value)) return value.map(String);
    return typeof value === "string" ? [value] : undefined;
  };

  // `general.license` may be a hub placeholder ("other") with the real name in `general.license.name`.
  const licenseId = text("general.license");
  const licenseName = text("general.license.name");
  const licenseText =
    licenseId === undefined || (licenseName !== undefined && normalizeLicense(licenseId).status === "unknown")
      ? licenseName
      : licenseId;
  const license =
    licenseText === undefined
      ? undefined
      : createLicenseValue(licenseText, text("general.license.link") ?? null);

  const sourceUrl =
    text("general.source.url") ??
    (text("general.source.huggingface.repository") === undefined
      ? undefined
      : `https://huggingface.co/${text("general.source.huggingface.repository")}`) ??
    text("general.url") ??
    text("general.repo_url");

  const quantizedBy = text("general.quantized_by");
  const baseModels = readIndexed(keys, "general.base_model").map(
    (entry): BaseModelRef => ({
      name: entry.name ?? entry.repo_url ?? "unnamed",
      organization: entry.organization ?? null,
      url: entry.repo_url ?? entry.url ?? null,
      relation: "unknown",
    }),
  );
  const datasets = readIndexed(keys, "general.dataset").map(
    (entry): DatasetRef => ({
      name: entry.name ?? entry.repo_url ?? "unnamed",
      url: entry.repo_url ?? entry.url ?? null,
      license: null,
    }),
  );

  return {
    name: fact(summary.name),
    fileSize: fact(summary.fileSize),
    digest: fact(evidence.digest),
    architecture: fact(summary.architecture),
    parameterCount: fact(summary.parameterCount),
    quantization: fact(summary.quantization),
    license: fact(license),
    baseModels: fact(baseModels.length > 0 ? baseModels : undefined),
    datasets: fact(datasets.length > 0 ? datasets : undefined),
    sourceUrl: fact(sourceUrl),
    tags: fact(list("general.tags")),
    languages: fact(list("general.languages")),
    quantizedBy: fact(quantizedBy),
    producer: fact(text("general.organization") ?? text("general.author")),
    // The file holds the final parameters; their license is the file's (inherited, so none here).
    components: {
      "model-parameters-final": {
        value: { availability: "available", license: null, url: sourceUrl ?? null },
        ...origin,
      },
    },
  };
}

/** Groups `prefix.N.key` entries (with `prefix.count`) into one object per index. */
function readIndexed(keys: Record<string, GgufPlainValue>, prefix: string): Array<Record<string, string>> {
  const entries: Array<Record<string, string>> = [];
  const pattern = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)\\.(.+)$`);
  for (const [key, value] of Object.entries(keys)) {
    const match = pattern.exec(key);
    if (match === null || typeof value !== "string") continue;
    const index = Number(match[1]);
    const field = match[2]!;
    if (index > 1000) continue;
    entries[index] ??= {};
    entries[index]![field] = value;
  }
  return entries.filter((entry) => entry !== undefined);
}
