// The provenance API's wire shapes: a model's full record (each fact with its source, URL and date,
// plus the facts it overrode), its openness assessment and the serving-policy result, as stable
// snake_case JSON for `GET /v1/models/{model}/provenance` and the short summary in `/v1/models`.
// Every key is written out here on purpose, so renaming an internal field cannot silently change the
// API. Pure; depends only on the provenance types, never on HTTP.

import type { ComponentAssessment, OpennessAssessment } from "./assess-openness.ts";
import { mofComponents } from "./mof-components.ts";
import type {
  BaseModelRef,
  ComponentValue,
  DatasetRef,
  Fact,
  LicenseValue,
  ProvenanceField,
  ProvenanceRecord,
  ProvenanceValues,
  SignerValue,
  SourcedFact,
} from "./provenance-record.ts";
import type { PolicyFailure } from "./serving-policy.ts";

/** Whether the serving policy lets a model be served, and every rule it fails. */
export interface PolicyResult {
  readonly servable: boolean;
  /** Empty when servable. */
  readonly failures: readonly PolicyFailure[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The record's fields under their API names. */
const fieldKeys = {
  name: "name",
  version: "version",
  producer: "producer",
  digest: "digest",
  fileSize: "file_size",
  architecture: "architecture",
  parameterCount: "parameter_count",
  quantization: "quantization",
  license: "license",
  codeLicense: "code_license",
  dataLicense: "data_license",
  documentLicense: "document_license",
  baseModels: "base_models",
  datasets: "datasets",
  sourceUrl: "source_url",
  openSourceClaim: "open_source_claim",
  tags: "tags",
  languages: "languages",
  quantizedBy: "quantized_by",
  signer: "signer",
} as const satisfies Record<ProvenanceField, string>;

const valueWriters: { [K in ProvenanceField]: (value: ProvenanceValues[K]) => Json } = {
  name: (value) => value,
  version: (value) => value,
  producer: (value) => value,
  digest: (value) => value,
  fileSize: (value) => value,
  architecture: (value) => value,
  parameterCount: (value) => value,
  quantization: (value) => value,
  license: toLicenseJson,
  codeLicense: toLicenseJson,
  dataLicense: toLicenseJson,
  documentLicense: toLicenseJson,
  baseModels: (value) => value.map(toBaseModelJson),
  datasets: (value) => value.map(toDatasetJson),
  sourceUrl: (value) => value,
  openSourceClaim: (value) => value,
  tags: (value) => [...value],
  languages: (value) => [...value],
  quantizedBy: (value) => value,
  signer: toSignerJson,
};

/** The full answer of `GET /v1/models/{model}/provenance`. */
export function toProvenanceJson(
  model: { readonly ref: string; readonly digest: string },
  record: ProvenanceRecord,
  assessment: OpennessAssessment,
  policy: PolicyResult,
): { [key: string]: Json } {
  return {
    object: "model.provenance",
    id: model.ref,
    digest: model.digest,
    record: toRecordJson(record),
    assessment: toAssessmentJson(record, assessment),
    policy: toPolicyJson(policy),
  };
}

/** The record: every field (null when no source states it) and the 17 MOF components in order. */
export function toRecordJson(record: ProvenanceRecord): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  for (const field of Object.keys(fieldKeys) as ProvenanceField[]) {
    json[fieldKeys[field]] = toFieldJson(record, field);
  }
  json.components = mofComponents.map((component) => {
    const fact = record.components[component.id];
    return {
      id: component.id,
      name: component.name,
      fact: fact === undefined ? null : toSourcedFactJson(fact, toComponentValueJson),
    };
  });
  return json;
}

function toFieldJson<K extends ProvenanceField>(record: ProvenanceRecord, field: K): Json {
  const fact = record[field] as SourcedFact<ProvenanceValues[K]> | undefined;
  return fact === undefined ? null : toSourcedFactJson(fact, valueWriters[field]);
}

function toSourcedFactJson<T>(fact: SourcedFact<T>, writeValue: (value: T) => Json): Json {
  return {
    ...toFactJson(fact, writeValue),
    overridden: fact.overridden.map((other) => toFactJson(other, writeValue)),
  };
}

function toFactJson<T>(fact: Fact<T>, writeValue: (value: T) => Json): { [key: string]: Json } {
  return { value: writeValue(fact.value), source: fact.source, url: fact.url, date: fact.date };
}

export function toAssessmentJson(
  record: ProvenanceRecord,
  assessment: OpennessAssessment,
): { [key: string]: Json } {
  return {
    mof_class: assessment.mofClass,
    mof_class_label: assessment.mofClassLabel,
    classes: assessment.classes.map((progress) => ({
      mof_class: progress.mofClass,
      label: progress.label,
      required: progress.required,
      met: progress.met,
      percent: progress.percent,
      unmet: [...progress.unmet],
    })),
    components: assessment.components.map((component) => toComponentAssessmentJson(record, component)),
    osaid: {
      verdict: assessment.osaid.passes ? "pass" : "fail",
      passes: assessment.osaid.passes,
      criteria: assessment.osaid.criteria.map((criterion) => ({
        name: criterion.name,
        passed: criterion.passed,
        reason: criterion.reason,
      })),
    },
    flags: assessment.flags.map((flag) => ({ code: flag.code, message: flag.message })),
    warnings: [...assessment.warnings],
  };
}

function toComponentAssessmentJson(record: ProvenanceRecord, component: ComponentAssessment): Json {
  return {
    id: component.id,
    name: component.name,
    required_from: component.requiredFrom,
    availability: record.components[component.id]?.value.availability ?? "unknown",
    verdict: component.verdict,
    counts: component.counts,
    license: component.license,
    license_origin: component.licenseOrigin,
    url: component.url,
    source: component.source,
    explanation: component.explanation,
  };
}

/** The `provenance` object of each `/v1/models` entry. */
export function toProvenanceSummaryJson(summary: {
  readonly license: string;
  readonly mofClass: string;
  readonly osaid: "pass" | "fail";
  readonly flags: readonly string[];
  readonly policy: PolicyResult;
}): { [key: string]: Json } {
  return {
    license: summary.license,
    mof_class: summary.mofClass,
    osaid: summary.osaid,
    flags: [...summary.flags],
    servable: summary.policy.servable,
    policy_failures: toPolicyJson(summary.policy).failures ?? [],
  };
}

export function toPolicyJson(policy: PolicyResult): { [key: string]: Json } {
  return {
    servable: policy.servable,
    failures: policy.failures.map((failure) => ({ rule: failure.rule, message: failure.message })),
  };
}

function toLicenseJson(license: LicenseValue): Json {
  return {
    expression: license.expression,
    status: license.status,
    original: license.original,
    url: license.url,
  };
}

function toBaseModelJson(base: BaseModelRef): Json {
  return { name: base.name, organization: base.organization, url: base.url, relation: base.relation };
}

function toDatasetJson(dataset: DatasetRef): Json {
  return {
    name: dataset.name,
    url: dataset.url,
    license: dataset.license === null ? null : toLicenseJson(dataset.license),
  };
}

function toComponentValueJson(value: ComponentValue): Json {
  return {
    availability: value.availability,
    license: value.license === null ? null : toLicenseJson(value.license),
    url: value.url,
  };
}

function toSignerJson(signer: SignerValue): Json {
  return { algorithm: signer.algorithm, key_fingerprint: signer.keyFingerprint, name: signer.name };
}
