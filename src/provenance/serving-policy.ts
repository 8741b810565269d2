// The administrator's serving policy: which models Ostrom may load, judged on their provenance record
// and openness assessment (minimum MOF class, OSI-approved license, disclosed training data, allowed
// and denied licenses, pinned digests, forbidden open-washing flags, a verified signature, optionally
// by one of a list of trusted keys). Parsing gives errors that name
// the bad field; `evaluatePolicy` lists every failed rule with a message a person can act on, and
// `assertPolicy` throws them as one `policy_violation`. Pure; no HTTP, no engine.

import { z } from "zod";
import { OstromError } from "../errors.ts";
import type { OpennessAssessment, OpenWashingFlagCode } from "./assess-openness.ts";
import { formatMofClass, type MofClass } from "./mof-components.ts";
import type { ProvenanceRecord } from "./provenance-record.ts";
import {
  canChooseLicenses,
  normalizeLicense,
  parseLicenseExpression,
  satisfiesLicenseExpression,
} from "./spdx.ts";

const flagCodes = [
  "open-source-claim-without-osi-weights",
  "weights-only-undisclosed-data",
  "quantization-license-conflict",
  "use-restricting-license",
] as const satisfies readonly OpenWashingFlagCode[];

const mofClassInput = z.union([z.literal(1), z.literal(2), z.literal(3), z.enum(["I", "II", "III"])]);

const policySchema = z.strictObject({
  /** The least open MOF class allowed: "III" (or 3), "II" (2), "I" (1). Default: none required. */
  minimumMofClass: mofClassInput.optional(),
  /** The weights' license must be OSI-approved. Default: false. */
  requireOsiApprovedLicense: z.boolean().optional(),
  /** The training datasets must be named or released. Default: false. */
  requireTrainingDataDisclosed: z.boolean().optional(),
  /** The model must pass the OSI Open Source AI Definition 1.0. Default: false. */
  requireOsaid: z.boolean().optional(),
  /** When given, the license must be one of these (an OR expression may choose one). Default: any. */
  allowedLicenses: z.array(z.string().min(1)).optional(),
  /** The license must be able to avoid all of these. Default: none denied. */
  deniedLicenses: z.array(z.string().min(1)).optional(),
  /** When given, only files with one of these `sha256:<hex>` digests may be served. Default: any. */
  pinnedDigests: z
    .array(z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256:<64 lowercase hex digits>"))
    .optional(),
  /** Open-washing flags that make a model unservable. Default: none. */
  deniedFlags: z.array(z.enum(flagCodes)).optional(),
  /**
   * `true`: the file must carry a verified signature (`ostrom import --signature`); a list of key
   * fingerprints (`sha256:<hex>`): signed by one of those keys. Default: false.
   */
  requireSignature: z
    .union([
      z.boolean(),
      z
        .array(
          z
            .string()
            .regex(/^sha256:[0-9a-f]{64}$/, "must be a key fingerprint, sha256:<64 lowercase hex digits>"),
        )
        .min(1, "must list at least one trusted key fingerprint (or be true)"),
    ])
    .optional(),
});

export interface ServingPolicy {
  readonly minimumMofClass: MofClass | null;
  readonly requireOsiApprovedLicense: boolean;
  readonly requireTrainingDataDisclosed: boolean;
  readonly requireOsaid: boolean;
  /** Normalised SPDX ids; null = any license. */
  readonly allowedLicenses: readonly string[] | null;
  readonly deniedLicenses: readonly string[];
  /** null = any digest. */
  readonly pinnedDigests: readonly string[] | null;
  readonly deniedFlags: readonly OpenWashingFlagCode[];
  readonly requireSignature: boolean;
  /** Fingerprints of the keys whose signatures are trusted; null = any verified signature. */
  readonly trustedKeys: readonly string[] | null;
}

export type PolicyRule =
  | "minimumMofClass"
  | "requireOsiApprovedLicense"
  | "requireTrainingDataDisclosed"
  | "requireOsaid"
  | "allowedLicenses"
  | "deniedLicenses"
  | "pinnedDigests"
  | "deniedFlags"
  | "requireSignature";

export interface PolicyFailure {
  readonly rule: PolicyRule;
  readonly message: string;
}

/** The policy that allows everything. */
export const permissivePolicy: ServingPolicy = {
  minimumMofClass: null,
  requireOsiApprovedLicense: false,
  requireTrainingDataDisclosed: false,
  requireOsaid: false,
  allowedLicenses: null,
  deniedLicenses: [],
  pinnedDigests: null,
  deniedFlags: [],
  requireSignature: false,
  trustedKeys: null,
};

/** Parses a policy from JSON text; errors name the field (`param`) and say what is wrong. */
export function parseServingPolicy(json: string, source = "serving policy"): ServingPolicy {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new OstromError("invalid_provenance_record", `${source}: not valid JSON.`, {
      param: "",
      cause: error,
    });
  }
  return readServingPolicy(data, source);
}

/** Validates an already-parsed policy object. */
export function readServingPolicy(data: unknown, source = "serving policy"): ServingPolicy {
  const result = policySchema.safeParse(data);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      return `${path === "" ? "the policy" : path}: ${issue.message}`;
    });
    const firstPath = result.error.issues[0]?.path.map(String).join(".") ?? "";
    throw new OstromError("invalid_provenance_record", `${source}: ${messages.join("; ")}.`, {
      param: firstPath,
    });
  }
  const input = result.data;
  const normalizeList = (list: readonly string[] | undefined, field: string): string[] | undefined =>
    list?.map((text, index) => {
      const normalized = normalizeLicense(text);
      if (
        normalized.expression === null ||
        normalized.status === "unrecognized" ||
        parseLicenseExpression(normalized.expression)?.type !== "license"
      ) {
        throw new OstromError(
          "invalid_provenance_record",
          `${source}: ${field}[${index}] "${text}" is not a license Ostrom recognises; use an SPDX id or a LicenseRef- id.`,
          {
            param: `${field}.${index}`,
          },
        );
      }
      return normalized.expression;
    });
  const classes: Record<string, MofClass> = { I: 1, II: 2, III: 3 };
  return {
    minimumMofClass:
      input.minimumMofClass === undefined
        ? null
        : typeof input.minimumMofClass === "number"
          ? input.minimumMofClass
          : (classes[input.minimumMofClass] ?? null),
    requireOsiApprovedLicense: input.requireOsiApprovedLicense ?? false,
    requireTrainingDataDisclosed: input.requireTrainingDataDisclosed ?? false,
    requireOsaid: input.requireOsaid ?? false,
    allowedLicenses: normalizeList(input.allowedLicenses, "allowedLicenses") ?? null,
    deniedLicenses: normalizeList(input.deniedLicenses, "deniedLicenses") ?? [],
    pinnedDigests: input.pinnedDigests ?? null,
    deniedFlags: input.deniedFlags ?? [],
    requireSignature: input.requireSignature !== undefined && input.requireSignature !== false,
    trustedKeys: Array.isArray(input.requireSignature) ? input.requireSignature : null,
  };
}

/** Every rule the model fails, in the policy's field order; empty when it may be served. */
export function evaluatePolicy(
  record: ProvenanceRecord,
  assessment: OpennessAssessment,
  policy: ServingPolicy,
): PolicyFailure[] {
  const failures: PolicyFailure[] = [];
  const weights = assessment.components.find((item) => item.id === "model-parameters-final");
  const license = weights?.license ?? record.license?.value.expression ?? null;
  const licenseText = license ?? "no license";

  if (
    policy.minimumMofClass !== null &&
    (assessment.mofClass === null || assessment.mofClass > policy.minimumMofClass)
  ) {
    const wanted = formatMofClass(policy.minimumMofClass);
    const progress = assessment.classes.find((item) => item.mofClass === policy.minimumMofClass);
    failures.push({
      rule: "minimumMofClass",
      message: `requires MOF ${wanted} or more open, but the model is ${assessment.mofClassLabel}${progress === undefined ? "" : ` (${wanted} ${progress.percent}% met; not met: ${progress.unmet.join(", ")})`}.`,
    });
  }
  if (
    policy.requireOsiApprovedLicense &&
    (license === null || !satisfiesLicenseExpression(license, (facts) => facts.osiApproved))
  ) {
    failures.push({
      rule: "requireOsiApprovedLicense",
      message: `requires an OSI-approved license for the weights, but they are under ${licenseText}.`,
    });
  }
  if (policy.requireTrainingDataDisclosed) {
    const datasets = assessment.components.find((item) => item.id === "datasets");
    const disclosed =
      (record.datasets?.value.length ?? 0) > 0 ||
      (datasets !== undefined && datasets.verdict !== "missing" && datasets.verdict !== "unknown");
    if (!disclosed)
      failures.push({
        rule: "requireTrainingDataDisclosed",
        message: "requires the training data to be disclosed, but no dataset is named or released.",
      });
  }
  if (policy.requireOsaid && !assessment.osaid.passes) {
    const reasons = assessment.osaid.criteria.filter((item) => !item.passed).map((item) => item.reason);
    failures.push({
      rule: "requireOsaid",
      message: `requires the OSI Open Source AI Definition 1.0, which the model fails: ${reasons.join(" ")}`,
    });
  }
  if (policy.allowedLicenses !== null) {
    const allowed = new Set(policy.allowedLicenses.map((id) => id.toLowerCase()));
    if (license === null || !canChooseLicenses(license, (id) => allowed.has(id.toLowerCase()))) {
      failures.push({
        rule: "allowedLicenses",
        message: `allows only ${policy.allowedLicenses.join(", ")}, but the model is under ${licenseText}.`,
      });
    }
  }
  if (policy.deniedLicenses.length > 0 && license !== null) {
    const denied = new Set(policy.deniedLicenses.map((id) => id.toLowerCase()));
    if (!canChooseLicenses(license, (id) => !denied.has(id.toLowerCase()))) {
      failures.push({
        rule: "deniedLicenses",
        message: `denies ${policy.deniedLicenses.join(", ")}, and the model is under ${license}.`,
      });
    }
  }
  if (policy.pinnedDigests !== null) {
    const digest = record.digest?.value;
    if (digest === undefined || !policy.pinnedDigests.includes(digest)) {
      failures.push({
        rule: "pinnedDigests",
        message: `pins the allowed files by digest, and ${digest ?? "this model's unknown digest"} is not one of them.`,
      });
    }
  }
  const deniedFlags = assessment.flags.filter((flag) => policy.deniedFlags.includes(flag.code));
  if (deniedFlags.length > 0) {
    failures.push({
      rule: "deniedFlags",
      message: `denies models flagged ${deniedFlags.map((flag) => `${flag.code} (${flag.message})`).join("; ")}`,
    });
  }
  if (policy.requireSignature) {
    const signer = record.signer?.source === "signature" ? record.signer.value : undefined;
    if (signer === undefined) {
      failures.push({
        rule: "requireSignature",
        message:
          "requires a verified signature, but the file is not signed (import it with --signature and --public-key).",
      });
    } else if (policy.trustedKeys !== null && !policy.trustedKeys.includes(signer.keyFingerprint)) {
      failures.push({
        rule: "requireSignature",
        message: `trusts only the keys ${policy.trustedKeys.join(", ")}, but the file is signed by ${signer.name === null ? "" : `${signer.name} with `}key ${signer.keyFingerprint}.`,
      });
    }
  }
  return failures;
}

/** Throws `policy_violation` naming each failed rule; returns quietly when the model may be served. */
export function assertPolicy(
  record: ProvenanceRecord,
  assessment: OpennessAssessment,
  policy: ServingPolicy,
  modelName?: string,
): void {
  const failures = evaluatePolicy(record, assessment, policy);
  if (failures.length === 0) return;
  const name = modelName ?? record.name?.value ?? "the model";
  const list = failures.map((failure) => `${failure.rule}: the policy ${failure.message}`).join(" ");
  throw new OstromError(
    "policy_violation",
    `Serving policy refuses ${name} (${failures.length} rule${failures.length === 1 ? "" : "s"} failed). ${list}`,
  );
}
