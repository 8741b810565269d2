// An AI bill of materials for one model: CycloneDX 1.6 JSON with the model as a
// `machine-learning-model` component (hash, licenses, model card, base models as pedigree ancestors)
// and each training dataset as a `data` component. Pure: builds plain JSON, so the domain core needs
// no CycloneDX library; the tests validate the output against the official 1.6 schema.

import { randomUUID } from "node:crypto";
import type { OpennessAssessment } from "./assess-openness.ts";
import type { LicenseValue, ProvenanceRecord } from "./provenance-record.ts";
import { getLicenseFacts, parseLicenseExpression } from "./spdx.ts";

/** The subset of CycloneDX 1.6 Ostrom writes. */
export interface CycloneDxBom {
  readonly bomFormat: "CycloneDX";
  readonly specVersion: "1.6";
  readonly serialNumber: string;
  readonly version: 1;
  readonly metadata: {
    readonly timestamp: string;
    readonly tools: { readonly components: readonly CycloneDxComponent[] };
    readonly component: CycloneDxComponent;
  };
  readonly components: readonly CycloneDxComponent[];
  readonly dependencies: ReadonlyArray<{ readonly ref: string; readonly dependsOn: readonly string[] }>;
}

export type CycloneDxLicenseChoice =
  | { readonly license: { readonly id: string; readonly url?: string } }
  | { readonly license: { readonly name: string; readonly url?: string } }
  | { readonly expression: string };

export interface CycloneDxComponent {
  readonly type: "application" | "machine-learning-model" | "data";
  readonly "bom-ref"?: string;
  readonly name: string;
  readonly version?: string;
  readonly supplier?: { readonly name: string };
  readonly hashes?: ReadonlyArray<{ readonly alg: "SHA-256"; readonly content: string }>;
  readonly licenses?: readonly CycloneDxLicenseChoice[];
  readonly externalReferences?: ReadonlyArray<{
    readonly type: "website" | "distribution" | "vcs" | "documentation";
    readonly url: string;
  }>;
  readonly pedigree?: { readonly ancestors: readonly CycloneDxComponent[] };
  readonly modelCard?: {
    readonly modelParameters?: {
      readonly architectureFamily?: string;
      readonly datasets?: ReadonlyArray<{ readonly ref: string }>;
    };
    readonly properties?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  };
  readonly data?: ReadonlyArray<{
    readonly type: "dataset";
    readonly name: string;
    readonly contents?: { readonly url: string };
  }>;
  readonly properties?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
}

export interface CreateBomOptions {
  /** Adds the MOF class, OSAID verdict and flags as properties. */
  assessment?: OpennessAssessment;
  /** Default: now. Fixed in tests. */
  timestamp?: string;
  /** `urn:uuid:…`; default: a random one. */
  serialNumber?: string;
  /** Ostrom's version, recorded as the tool. Default: "unknown". */
  toolVersion?: string;
}

export function createCycloneDxBom(record: ProvenanceRecord, options: CreateBomOptions = {}): CycloneDxBom {
  const name = record.name?.value ?? "unnamed model";
  const digestHex = /^sha256:([0-9a-f]{64})$/.exec(record.digest?.value ?? "")?.[1];
  const modelRef = digestHex === undefined ? "model" : `model-${digestHex.slice(0, 16)}`;

  const datasets = (record.datasets?.value ?? []).map((dataset, index): CycloneDxComponent => {
    const licenses = toLicenseChoices(dataset.license);
    return {
      type: "data",
      "bom-ref": `dataset-${index + 1}`,
      name: dataset.name,
      ...(licenses.length > 0 ? { licenses } : {}),
      ...(dataset.url === null
        ? {}
        : { externalReferences: [{ type: "website" as const, url: dataset.url }] }),
      data: [
        {
          type: "dataset",
          name: dataset.name,
          ...(dataset.url === null ? {} : { contents: { url: dataset.url } }),
        },
      ],
    };
  });

  const ancestors = (record.baseModels?.value ?? []).map(
    (base): CycloneDxComponent => ({
      type: "machine-learning-model",
      name: base.name,
      ...(base.organization === null ? {} : { supplier: { name: base.organization } }),
      ...(base.url === null ? {} : { externalReferences: [{ type: "website" as const, url: base.url }] }),
      ...(base.relation === "unknown"
        ? {}
        : { properties: [{ name: "ostrom:relation", value: base.relation }] }),
    }),
  );

  const cardProperties: Array<{ name: string; value: string }> = [];
  const addProperty = (key: string, value: string | number | undefined | null) => {
    if (value !== undefined && value !== null)
      cardProperties.push({ name: `ostrom:${key}`, value: String(value) });
  };
  addProperty("parameter-count", record.parameterCount?.value);
  addProperty("quantization", record.quantization?.value);
  addProperty("file-size", record.fileSize?.value);
  addProperty("quantized-by", record.quantizedBy?.value);

  const properties: Array<{ name: string; value: string }> = [];
  if (options.assessment !== undefined) {
    const { assessment } = options;
    properties.push({ name: "ostrom:mof-class", value: assessment.mofClassLabel });
    for (const progress of assessment.classes) {
      properties.push({
        name: `ostrom:mof-class-${progress.mofClass}-percent`,
        value: String(progress.percent),
      });
    }
    properties.push({ name: "ostrom:osaid-1.0", value: assessment.osaid.passes ? "pass" : "fail" });
    for (const flag of assessment.flags)
      properties.push({ name: "ostrom:open-washing-flag", value: flag.code });
  }

  const licenses = toLicenseChoices(record.license?.value ?? null);
  const references = [record.sourceUrl?.value].filter((url): url is string => url !== undefined);
  const model: CycloneDxComponent = {
    type: "machine-learning-model",
    "bom-ref": modelRef,
    name,
    ...(record.version === undefined ? {} : { version: record.version.value }),
    ...(record.producer === undefined ? {} : { supplier: { name: record.producer.value } }),
    ...(digestHex === undefined ? {} : { hashes: [{ alg: "SHA-256" as const, content: digestHex }] }),
    ...(licenses.length > 0 ? { licenses } : {}),
    ...(references.length > 0
      ? { externalReferences: references.map((url) => ({ type: "distribution" as const, url })) }
      : {}),
    ...(ancestors.length > 0 ? { pedigree: { ancestors } } : {}),
    modelCard: {
      modelParameters: {
        ...(record.architecture === undefined ? {} : { architectureFamily: record.architecture.value }),
        ...(datasets.length > 0
          ? { datasets: datasets.map((dataset) => ({ ref: dataset["bom-ref"] ?? "" })) }
          : {}),
      },
      ...(cardProperties.length > 0 ? { properties: cardProperties } : {}),
    },
    ...(properties.length > 0 ? { properties } : {}),
  };

  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: options.timestamp ?? new Date().toISOString(),
      tools: {
        components: [{ type: "application", name: "ostrom", version: options.toolVersion ?? "unknown" }],
      },
      component: model,
    },
    components: datasets,
    dependencies: [{ ref: modelRef, dependsOn: datasets.map((dataset) => dataset["bom-ref"] ?? "") }],
  };
}

/**
 * A single license SPDX lists → `license.id`; a compound expression or a `LicenseRef-` →
 * `expression`; unrecognised text → `license.name` as written; no or unknown license → nothing.
 */
export function toLicenseChoices(license: LicenseValue | null): CycloneDxLicenseChoice[] {
  if (license === null) return [];
  const url = license.url === null ? {} : { url: license.url };
  if (license.expression === null) return [];
  if (license.status === "unrecognized") return [{ license: { name: license.original.trim(), ...url } }];
  const tree = parseLicenseExpression(license.expression);
  if (tree?.type === "license" && tree.exception === undefined && !tree.id.startsWith("LicenseRef-")) {
    const facts = getLicenseFacts(tree.id);
    if (facts !== undefined) return [{ license: { id: facts.id, ...url } }];
  }
  return [{ expression: license.expression }];
}
