// Turns a Model Openness Tool record (a catalog entry or an administrator's declaration) into
// provenance facts, each with the source URL and date its `x-ostrom` extension gives, falling back to
// the record's hub page or repository and its `release.date`. Pure. MOT's `release.architecture` is a
// category ("transformer decoder"), not the GGUF's architecture name, so it is not a record fact.

import { findMofComponentByName, type MofComponentId, mofComponents } from "./mof-components.ts";
import type { MotLicenseSlot, MotRecord } from "./mot-yaml.ts";
import {
  type Availability,
  type BaseModelRef,
  type ComponentValue,
  createLicenseValue,
  type DatasetRef,
  type Fact,
  type FactSource,
  type LicenseValue,
  type ProvenanceFacts,
} from "./provenance-record.ts";

export interface MotFactsOptions {
  /** `catalog` for Ostrom's own catalog, `declared` for what an administrator declares. */
  readonly source: FactSource;
  /** Used when the record names no source for a fact (e.g. the YAML file's path). */
  readonly url?: string;
  /** Used when the record gives no date. */
  readonly date?: string;
}

export function getMotFacts(record: MotRecord, options: MotFactsOptions): ProvenanceFacts {
  const { release } = record;
  const ext = record.ostrom ?? {};
  const sources = ext.sources ?? {};
  const fallbackUrl =
    sources.default ?? nonEmpty(release.huggingface) ?? nonEmpty(release.repository) ?? options.url ?? null;
  const date = ext.checked ?? nonEmpty(release.date) ?? options.date ?? null;
  const fact = <T>(value: T | undefined, sourceKey: string, url?: string | null): Fact<T> | undefined =>
    value === undefined
      ? undefined
      : { value, source: options.source, url: url ?? sources[sourceKey] ?? fallbackUrl, date };
  const slot = (name: MotLicenseSlot): LicenseValue | undefined => {
    const entry = release.license[name];
    return entry === undefined ? undefined : createLicenseValue(entry.name, nonEmpty(entry.path) ?? null);
  };

  const components: Partial<Record<MofComponentId, Fact<ComponentValue>>> = {};
  const unknown = new Set((ext.unknown ?? []).map((name) => findMofComponentByName(name)?.id));
  for (const component of mofComponents) {
    const listed = release.components.find((item) => findMofComponentByName(item.name)?.id === component.id);
    const availability: Availability =
      listed !== undefined ? "available" : unknown.has(component.id) ? "unknown" : "not-available";
    const value: ComponentValue = {
      availability,
      license:
        listed?.license === undefined
          ? null
          : createLicenseValue(listed.license, nonEmpty(listed.license_path) ?? null),
      url: nonEmpty(listed?.component_path) ?? null,
    };
    components[component.id] = fact(value, `components.${component.name}`);
  }

  const baseModels: BaseModelRef[] | undefined =
    ext.base_models?.map((base) => ({
      name: base.name,
      organization: null,
      url: base.url ?? null,
      relation: base.relation ?? "unknown",
    })) ??
    (nonEmpty(release.origin) !== undefined && release.origin !== release.name
      ? [{ name: release.origin, organization: null, url: null, relation: "unknown" }]
      : undefined);
  const datasets: DatasetRef[] | undefined = ext.datasets?.map((dataset) => ({
    name: dataset.name,
    url: dataset.url ?? null,
    license: dataset.license === undefined ? null : createLicenseValue(dataset.license),
  }));

  return {
    name: fact(release.name, "release.name"),
    version: fact(nonEmpty(release.version), "release.version"),
    producer: fact(nonEmpty(release.producer), "release.producer"),
    license: fact(slot("distribution"), "release.license.distribution"),
    codeLicense: fact(slot("code"), "release.license.code"),
    dataLicense: fact(slot("data"), "release.license.data"),
    documentLicense: fact(slot("document"), "release.license.document"),
    baseModels: fact(baseModels, "base_models"),
    datasets: fact(datasets, "datasets"),
    sourceUrl: fact(nonEmpty(release.huggingface) ?? nonEmpty(release.repository), "release.huggingface"),
    openSourceClaim: fact(ext.open_source_claim?.text, "open_source_claim", ext.open_source_claim?.url),
    components,
  };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === "" ? undefined : text;
}
