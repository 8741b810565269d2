// Builders for hand-written Model Openness Tool records in tests. Test support only.
import { assessOpenness, type OpennessAssessment } from "./assess-openness.ts";
import { getMofComponent, type MofComponentId } from "./mof-components.ts";
import { getMotFacts } from "./mot-facts.ts";
import type { MotComponent, MotLicense, MotLicenseSlot, MotRecord, OstromExtension } from "./mot-yaml.ts";
import { mergeProvenance, type ProvenanceRecord } from "./provenance-record.ts";

export interface TestRecordOptions {
  name?: string;
  /** Global licenses by slot, as written. */
  licenses?: Partial<Record<MotLicenseSlot, string>>;
  /** Components released, with their own license as written (undefined = none named). */
  components?: Partial<Record<MofComponentId, string | undefined>>;
  ostrom?: OstromExtension;
}

export function createTestMotRecord(options: TestRecordOptions = {}): MotRecord {
  const license: Partial<Record<MotLicenseSlot, MotLicense>> = {};
  for (const [slot, name] of Object.entries(options.licenses ?? {}))
    license[slot as MotLicenseSlot] = { name, path: "" };
  const components = Object.entries(options.components ?? {}).map(([id, componentLicense]): MotComponent => {
    const component = getMofComponent(id as MofComponentId);
    return {
      name: component.name,
      description: component.description,
      ...(componentLicense === undefined ? {} : { license: componentLicense }),
    };
  });
  return {
    framework: { name: "Model Openness Framework", version: "1.0", date: "2024-12-15" },
    release: {
      name: options.name ?? "test-model",
      version: "1B",
      date: "2026-01-01",
      type: "language",
      architecture: "transformer decoder",
      origin: "",
      producer: "Test Lab",
      contact: "",
      license,
      components,
    },
    ...(options.ostrom === undefined ? {} : { ostrom: options.ostrom }),
  };
}

export function createTestRecord(options: TestRecordOptions = {}): ProvenanceRecord {
  return mergeProvenance(
    undefined,
    getMotFacts(createTestMotRecord(options), { source: "catalog", url: "test" }),
  );
}

export function assessTestRecord(options: TestRecordOptions = {}): OpennessAssessment {
  return assessOpenness(createTestRecord(options));
}

/** Every component Class I requires, each under a suitable open license. */
export const fullyOpenComponents: Partial<Record<MofComponentId, string>> = {
  "model-architecture": "Apache-2.0",
  "model-parameters-final": "CDLA-Permissive-2.0",
  "technical-report": "CC-BY-4.0",
  "evaluation-results": "CC-BY-4.0",
  "model-card": "CC-BY-4.0",
  "data-card": "CC-BY-4.0",
  "training-code": "Apache-2.0",
  "inference-code": "MIT",
  "evaluation-code": "BSD-3-Clause",
  "evaluation-data": "CC-BY-4.0",
  datasets: "ODC-By-1.0",
  "data-preprocessing-code": "Apache-2.0",
  "model-parameters-intermediate": "CDLA-Permissive-2.0",
  "research-paper": "CC-BY-4.0",
};
