// Judges a provenance record against public openness frameworks, explaining every verdict component
// by component: the Model Openness Framework class (III/II/I), the OSI Open Source AI Definition 1.0,
// and "open-washing" flags. Pure; depends on the record type, the MOF component list and the license
// facts.
//
// Which license a component has (the inheritance rule, as the Model Openness Tool applies it):
//   1. the component's own license, if it names one ("unlicensed" names none, and stops here);
//   2. else the global license of its content type (`release.license.code|data|document`);
//   3. else the distribution license (`release.license.distribution`, or the GGUF's license);
//   4. else none.
// A component counts towards a class only if it is released and that license is open: of a suitable
// kind (OSI-approved for code, open-data for data and parameters, open-document for documents) →
// "open"; open but of another kind (Apache-2.0 on weights) → "open-wrong-kind", which counts with a
// warning. No license, an unknown license and a restrictive license never count.
// A research paper that counts stands in for a missing technical report.

import {
  formatMofClass,
  type MofClass,
  type MofComponent,
  type MofComponentId,
  mofClassTitles,
  mofComponents,
} from "./mof-components.ts";
import type { FactSource, LicenseValue, ProvenanceRecord } from "./provenance-record.ts";
import {
  getUseRestrictions,
  isOpenFor,
  isOpenLicense,
  type LicenseFacts,
  satisfiesLicenseExpression,
} from "./spdx.ts";

export type ComponentVerdict =
  | "open"
  | "open-wrong-kind"
  | "restricted"
  | "unlicensed"
  | "missing"
  | "unknown";

/** Where a component's effective license came from (see the inheritance rule above). */
export type LicenseOrigin =
  | "component"
  | "global-code"
  | "global-data"
  | "global-document"
  | "distribution"
  | "none";

export interface ComponentAssessment {
  readonly id: MofComponentId;
  readonly name: string;
  /** The least demanding class requiring it, or null when no class does. */
  readonly requiredFrom: MofClass | null;
  readonly verdict: ComponentVerdict;
  /** True when it counts towards the classes that require it. */
  readonly counts: boolean;
  /** The effective license's SPDX expression (or its text when unrecognised); null when none. */
  readonly license: string | null;
  readonly licenseOrigin: LicenseOrigin;
  readonly url: string | null;
  /** Which source said whether it is released; null when none did. */
  readonly source: FactSource | null;
  readonly explanation: string;
}

export interface ClassProgress {
  readonly mofClass: MofClass;
  readonly label: string;
  readonly required: number;
  readonly met: number;
  /** Whole percent of the class's required components that count, 0–100. */
  readonly percent: number;
  /** Names of required components that do not count. */
  readonly unmet: readonly string[];
}

export interface OsaidCriterion {
  readonly name: "parameters" | "code" | "data-information";
  readonly passed: boolean;
  readonly reason: string;
}

export interface OsaidVerdict {
  readonly passes: boolean;
  readonly criteria: readonly OsaidCriterion[];
}

export type OpenWashingFlagCode =
  | "open-source-claim-without-osi-weights"
  | "weights-only-undisclosed-data"
  | "quantization-license-conflict"
  | "use-restricting-license";

export interface OpenWashingFlag {
  readonly code: OpenWashingFlagCode;
  readonly message: string;
}

export interface OpennessAssessment {
  /** The most open class fully met, or null. */
  readonly mofClass: MofClass | null;
  /** E.g. "Class II (Open Tooling)" or "unclassified". */
  readonly mofClassLabel: string;
  /** Class III, II and I, in that order. */
  readonly classes: readonly ClassProgress[];
  readonly components: readonly ComponentAssessment[];
  readonly osaid: OsaidVerdict;
  readonly flags: readonly OpenWashingFlag[];
  /** Open licenses of the wrong kind, and other things worth a look that do not change a verdict. */
  readonly warnings: readonly string[];
}

export function assessOpenness(record: ProvenanceRecord): OpennessAssessment {
  const components = mofComponents.map((component) => assessComponent(record, component));
  const byId = new Map(components.map((item) => [item.id, item]));
  const counts = (id: MofComponentId): boolean => {
    if (byId.get(id)?.counts === true) return true;
    return id === "technical-report" && byId.get("research-paper")?.counts === true;
  };

  const classes = ([3, 2, 1] as const).map((mofClass): ClassProgress => {
    const required = mofComponents.filter((c) => c.requiredFrom !== null && c.requiredFrom >= mofClass);
    const unmet = required.filter((c) => !counts(c.id)).map((c) => c.name);
    const met = required.length - unmet.length;
    return {
      mofClass,
      label: formatClassLabel(mofClass),
      required: required.length,
      met,
      percent: Math.floor((met / required.length) * 100),
      unmet,
    };
  });
  const mofClass = [...classes].reverse().find((progress) => progress.unmet.length === 0)?.mofClass ?? null;

  const warnings = components
    .filter((item) => item.verdict === "open-wrong-kind")
    .map((item) => `${item.name}: ${item.explanation}`);
  const paper = byId.get("research-paper");
  const report = byId.get("technical-report");
  if (report?.counts === false && paper?.counts === true) {
    warnings.push("Technical report: not released openly; the research paper stands in for it.");
  }

  return {
    mofClass,
    mofClassLabel: mofClass === null ? "unclassified" : formatClassLabel(mofClass),
    classes,
    components,
    osaid: assessOsaid(record, byId),
    flags: findOpenWashing(record, byId),
    warnings,
  };
}

function formatClassLabel(mofClass: MofClass): string {
  return `${formatMofClass(mofClass)} (${mofClassTitles[mofClass]})`;
}

interface EffectiveLicense {
  readonly value: LicenseValue | null;
  readonly origin: LicenseOrigin;
}

/** The license a component carries under the inheritance rule. */
export function getEffectiveLicense(record: ProvenanceRecord, component: MofComponent): EffectiveLicense {
  const own = record.components[component.id]?.value.license ?? null;
  if (own !== null) return { value: own, origin: "component" };
  const global = {
    code: record.codeLicense,
    data: record.dataLicense,
    document: record.documentLicense,
  }[component.contentType];
  if (global !== undefined) return { value: global.value, origin: `global-${component.contentType}` };
  if (record.license !== undefined) return { value: record.license.value, origin: "distribution" };
  return { value: null, origin: "none" };
}

function assessComponent(record: ProvenanceRecord, component: MofComponent): ComponentAssessment {
  const fact = record.components[component.id];
  const base = {
    id: component.id,
    name: component.name,
    requiredFrom: component.requiredFrom,
    url: fact?.value.url ?? null,
    source: fact?.source ?? null,
  };
  const availability = fact?.value.availability ?? "unknown";
  if (availability !== "available") {
    return {
      ...base,
      verdict: availability === "unknown" ? "unknown" : "missing",
      counts: false,
      license: null,
      licenseOrigin: "none",
      explanation:
        availability === "unknown"
          ? "No source says whether it is released; it does not count until someone verifies it."
          : "Not released.",
    };
  }
  const { value: license, origin } = getEffectiveLicense(record, component);
  const inherited = origin === "component" ? "" : ` (inherited from the ${describeOrigin(origin)})`;
  const shown = license?.expression ?? (license?.original.trim() || null);
  const result = (verdict: ComponentVerdict, explanation: string): ComponentAssessment => ({
    ...base,
    verdict,
    counts: verdict === "open" || verdict === "open-wrong-kind",
    license: verdict === "unlicensed" ? null : shown,
    licenseOrigin: verdict === "unlicensed" ? "none" : origin,
    explanation,
  });

  if (license === null || license.status === "none") {
    return result(
      "unlicensed",
      license === null
        ? "Released, but under no license, and no global or distribution license to inherit: not open."
        : `Released, but marked as having no license${inherited}: not open.`,
    );
  }
  if (license.expression === null) {
    return result(
      "restricted",
      `Released under a license that is not stated precisely ("${license.original}")${inherited}: not counted as open.`,
    );
  }
  if (license.status === "unrecognized") {
    return result(
      "restricted",
      `Released under "${license.original}"${inherited}, which Ostrom does not recognise as an open license.`,
    );
  }
  const expression = license.expression;
  const suitable = (facts: LicenseFacts) => component.suitableKinds.some((kind) => isOpenFor(facts, kind));
  if (satisfiesLicenseExpression(expression, suitable)) {
    return result(
      "open",
      `Released under ${expression}${inherited}, an open ${component.suitableKinds.join("/")} license.`,
    );
  }
  if (satisfiesLicenseExpression(expression, isOpenLicense)) {
    return result(
      "open-wrong-kind",
      `Released under ${expression}${inherited}, an open license but not of the expected kind (${component.suitableKinds.join("/")}); it counts, with this warning.`,
    );
  }
  const restrictions = getUseRestrictions(expression);
  return result(
    "restricted",
    `Released under ${expression}${inherited}, which is not an open license${restrictions.length > 0 ? `: ${restrictions.join("; ")}` : ""}.`,
  );
}

function describeOrigin(origin: LicenseOrigin): string {
  switch (origin) {
    case "global-code":
      return "global code license";
    case "global-data":
      return "global data license";
    case "global-document":
      return "global document license";
    case "distribution":
      return "distribution license";
    case "component":
    case "none":
      return origin;
    default:
      return origin satisfies never;
  }
}

const isOsi = (facts: LicenseFacts) => facts.osiApproved;

function isReleased(item: ComponentAssessment | undefined): boolean {
  return item !== undefined && item.verdict !== "missing" && item.verdict !== "unknown";
}

function assessOsaid(
  record: ProvenanceRecord,
  byId: ReadonlyMap<MofComponentId, ComponentAssessment>,
): OsaidVerdict {
  const osiReleased = (id: MofComponentId): { ok: boolean; why: string } => {
    const item = byId.get(id);
    if (item === undefined || item.verdict === "missing" || item.verdict === "unknown") {
      return {
        ok: false,
        why: `${item?.name ?? id} is not released${item?.verdict === "unknown" ? " (unverified)" : ""}`,
      };
    }
    if (item.license === null) return { ok: false, why: `${item.name} has no license` };
    if (!satisfiesLicenseExpression(item.license, isOsi)) {
      return { ok: false, why: `${item.name} is under ${item.license}, not an OSI-approved license` };
    }
    return { ok: true, why: `${item.name} is under ${item.license}` };
  };

  const weights = osiReleased("model-parameters-final");
  const code = (["data-preprocessing-code", "training-code", "inference-code"] as const).map(osiReleased);
  const codeFailures = code.filter((item) => !item.ok);

  const dataCard = byId.get("data-card");
  const datasetsComponent = byId.get("datasets");
  const namedDatasets = record.datasets?.value ?? [];
  const dataDisclosed = namedDatasets.length > 0 || isReleased(datasetsComponent);
  const dataCardOpen = dataCard?.counts === true;
  const dataProblems: string[] = [];
  if (!dataDisclosed) dataProblems.push("the training datasets are not named");
  if (dataCard === undefined || dataCard.verdict === "missing" || dataCard.verdict === "unknown") {
    dataProblems.push("there is no data card describing the training data");
  } else if (!dataCardOpen) {
    dataProblems.push(`the data card is not under open terms (${dataCard.license ?? "no license"})`);
  }

  const criteria: OsaidCriterion[] = [
    {
      name: "parameters",
      passed: weights.ok,
      reason: weights.ok
        ? `Parameters: ${weights.why}.`
        : `Parameters: ${weights.why}; OSAID 1.0 requires OSI-approved terms.`,
    },
    {
      name: "code",
      passed: codeFailures.length === 0,
      reason:
        codeFailures.length === 0
          ? `Code: ${code.map((item) => item.why).join("; ")}.`
          : `Code: ${codeFailures.map((item) => item.why).join("; ")}; OSAID 1.0 requires the complete data processing, training and inference code under OSI-approved licenses.`,
    },
    {
      name: "data-information",
      passed: dataProblems.length === 0,
      reason:
        dataProblems.length === 0
          ? `Data information: ${namedDatasets.length > 0 ? `${namedDatasets.length} training dataset(s) named` : "datasets released"} and a data card under ${dataCard?.license}.`
          : `Data information: ${dataProblems.join("; ")}; OSAID 1.0 requires information detailed enough for a skilled person to build a substantially equivalent system.`,
    },
  ];
  return { passes: criteria.every((criterion) => criterion.passed), criteria };
}

const openSourceWords = /\bopen[\s_-]?source\b/i;

function findOpenWashing(
  record: ProvenanceRecord,
  byId: ReadonlyMap<MofComponentId, ComponentAssessment>,
): OpenWashingFlag[] {
  const flags: OpenWashingFlag[] = [];
  const weights = byId.get("model-parameters-final");
  const weightsReleased = isReleased(weights);
  const weightsLicense = weights?.license ?? record.license?.value.expression ?? null;
  const weightsOsi = weightsLicense !== null && satisfiesLicenseExpression(weightsLicense, isOsi);

  const claim =
    record.openSourceClaim?.value ??
    [record.name?.value, ...(record.tags?.value ?? [])].find(
      (text) => text !== undefined && openSourceWords.test(text),
    );
  if (claim !== undefined && !weightsOsi) {
    flags.push({
      code: "open-source-claim-without-osi-weights",
      message: `Called open source ("${claim}"), but its weights are under ${weightsLicense ?? "no license"}, which is not OSI-approved.`,
    });
  }

  const dataDisclosed =
    (record.datasets?.value.length ?? 0) > 0 ||
    isReleased(byId.get("datasets")) ||
    isReleased(byId.get("data-card"));
  if (weightsReleased && !dataDisclosed) {
    flags.push({
      code: "weights-only-undisclosed-data",
      message: "Weights are released, but neither the training datasets nor a data card are disclosed.",
    });
  }

  const license = record.license;
  if (license !== undefined) {
    const ggufFacts = [license, ...license.overridden].filter((fact) => fact.source === "gguf");
    const others = [license, ...license.overridden].filter((fact) => fact.source !== "gguf");
    const reference = others[0];
    for (const gguf of ggufFacts) {
      if (reference === undefined) break;
      const ggufKey = gguf.value.expression ?? gguf.value.status;
      const referenceKey = reference.value.expression ?? reference.value.status;
      if (ggufKey !== referenceKey) {
        flags.push({
          code: "quantization-license-conflict",
          message: `The GGUF file says its license is ${gguf.value.expression ?? `"${gguf.value.original}"`}, but the ${reference.source} says the model is under ${reference.value.expression ?? `"${reference.value.original}"`}${reference.url === null ? "" : ` (${reference.url})`}; a quantisation cannot change its base model's license.`,
        });
      }
    }
  }

  const restrictedBy = weightsLicense === null ? [] : getUseRestrictions(weightsLicense);
  if (restrictedBy.length > 0) {
    flags.push({
      code: "use-restricting-license",
      message: `The weights' license restricts use or field of use: ${restrictedBy.join("; ")}.`,
    });
  }
  return flags;
}
