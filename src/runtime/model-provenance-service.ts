// What Ostrom knows and enforces about each stored model's provenance: the merged record (GGUF header,
// catalog, the administrator's declaration, a verified signature) and its openness assessment
// (computed once per digest, again when a declaration or signature changes, even by another process),
// the serving policy check and integrity check before a load, and the short summary sent with every
// response. The server and CLI share it; it knows nothing of HTTP.
import { readFile } from "node:fs/promises";
import type { Config } from "../config/config-schema.ts";
import { isOstromError, OstromError } from "../errors.ts";
import { getDeclaredFacts } from "../provenance/admin-declaration.ts";
import type { OpennessAssessment } from "../provenance/assess-openness.ts";
import {
  createProvenanceCatalog,
  loadProvenanceCatalog,
  type ProvenanceCatalog,
} from "../provenance/catalog.ts";
import { describeModelProvenance, type ModelProvenance } from "../provenance/describe-model-provenance.ts";
import { getSignatureFacts } from "../provenance/model-signature.ts";
import { type PolicyResult, toProvenanceJson } from "../provenance/provenance-json.ts";
import { ProvenanceOverlayStore } from "../provenance/provenance-overlay-store.ts";
import {
  assertPolicy,
  evaluatePolicy,
  parseServingPolicy,
  type ServingPolicy,
} from "../provenance/serving-policy.ts";
import type { ModelEntry } from "../store/model-store.ts";
import type { Logger } from "../util/logger.ts";
import { verifyModelIntegrity } from "./verify-model-integrity.ts";

/** The few facts every response and model listing carries. */
export interface ProvenanceSummary {
  digest: string;
  /** SPDX expression, or `unknown`. */
  license: string;
  /** e.g. "Class II (Open Tooling)" or "unclassified". */
  mofClass: string;
  osaid: "pass" | "fail";
  flags: string[];
  /** What the serving policy says (integrity is checked only when a model is loaded, not here). */
  policy: PolicyResult;
}

export class ModelProvenanceService {
  readonly #policy: ServingPolicy | undefined;
  readonly #catalog: Promise<ProvenanceCatalog>;
  readonly #overlays: ProvenanceOverlayStore;
  readonly #log: Logger;
  /** By digest, with the overlays' version it was computed from. */
  readonly #byDigest = new Map<string, { version: string; provenance: Promise<ModelProvenance> }>();

  private constructor(
    policy: ServingPolicy | undefined,
    catalog: Promise<ProvenanceCatalog>,
    overlays: ProvenanceOverlayStore,
    log: Logger,
  ) {
    this.#policy = policy;
    this.#catalog = catalog;
    this.#overlays = overlays;
    this.#log = log;
  }

  /**
   * `policyFile`: a JSON serving policy; empty for none (every model may be served). Declarations and
   * signatures are read from `<dataDir>/provenance/`. A missing or broken catalog, and a stored
   * declaration that no longer validates, are logged and left out: models are then judged on what
   * remains (a signature that no longer verifies likewise counts as none).
   */
  static async create(
    config: Pick<Config, "policyFile" | "dataDir">,
    log: Logger,
  ): Promise<ModelProvenanceService> {
    const { policyFile } = config;
    const policy =
      policyFile === "" ? undefined : parseServingPolicy(await readFile(policyFile, "utf8"), policyFile);
    const catalog = loadProvenanceCatalog().catch((error: unknown) => {
      log.warn(`provenance catalog unavailable, using GGUF metadata only: ${(error as Error).message}`);
      return createProvenanceCatalog([]);
    });
    return new ModelProvenanceService(policy, catalog, new ProvenanceOverlayStore(config.dataDir), log);
  }

  async describe(entry: ModelEntry): Promise<ModelProvenance> {
    const version = await this.#overlays.getVersion(entry.digest);
    const known = this.#byDigest.get(entry.digest);
    if (known !== undefined && known.version === version) return known.provenance;
    const provenance = this.#describeNow(entry);
    const cached = { version, provenance };
    provenance.catch(() => {
      if (this.#byDigest.get(entry.digest) === cached) this.#byDigest.delete(entry.digest);
    });
    this.#byDigest.set(entry.digest, cached);
    return provenance;
  }

  /** Forgets what is known about `digest`; the next `describe` reads everything again. */
  invalidate(digest: string): void {
    this.#byDigest.delete(digest);
  }

  async #describeNow(entry: ModelEntry): Promise<ModelProvenance> {
    const [catalog, declared, signature] = await Promise.all([
      this.#catalog,
      this.#overlays.readDeclaration(entry.digest).catch((error: unknown) => {
        this.#log.error(`ignoring the declaration for ${entry.ref}: ${(error as Error).message}`);
        return undefined;
      }),
      this.#overlays.readSignature(entry.digest, (reason) =>
        this.#log.warn(`ignoring the signature record for ${entry.ref}: ${reason}`),
      ),
    ]);
    return describeModelProvenance({
      path: entry.path,
      digest: entry.digest,
      catalog,
      names: [entry.name, entry.ref],
      declared: declared === undefined ? undefined : getDeclaredFacts(declared.declaration, {}),
      signature: signature === undefined ? undefined : getSignatureFacts(signature),
    });
  }

  /**
   * Call before loading `entry`: throws `policy_violation` naming every failed rule when the policy
   * forbids serving it, then `model_integrity_failed` when its file no longer has its digest (hashed
   * once per process while the file is unchanged).
   */
  async assertServable(entry: ModelEntry, signal?: AbortSignal): Promise<ProvenanceSummary> {
    const provenance = await this.describe(entry);
    if (this.#policy) assertPolicy(provenance.record, provenance.assessment, this.#policy, entry.ref);
    await verifyModelIntegrity(entry, { signal }).catch((error: unknown) => {
      if (isOstromError(error, "model_integrity_failed"))
        this.#log.error(`${error.message} (file: ${entry.path})`);
      throw error;
    });
    return this.#summarize(entry, provenance);
  }

  /** Whether the policy lets `entry` be served, with every failed rule; never throws a refusal. */
  async getPolicyResult(entry: ModelEntry): Promise<PolicyResult> {
    return this.#evaluate(await this.describe(entry));
  }

  /** Everything known: the record with each fact's source and date, the assessment, the policy result. */
  async getReport(entry: ModelEntry): Promise<ReturnType<typeof toProvenanceJson>> {
    const provenance = await this.describe(entry);
    return toProvenanceJson(entry, provenance.record, provenance.assessment, this.#evaluate(provenance));
  }

  /**
   * A model served by a remote backend has no file here, so nothing of its provenance is known: with a
   * serving policy it is refused (no rule can be shown to hold); without one it is served, and its
   * response headers say that its provenance is unknown.
   */
  get hasPolicy(): boolean {
    return this.#policy !== undefined;
  }

  async assertRemoteServable(name: string): Promise<Record<string, string>> {
    if (this.#policy)
      throw new OstromError(
        "policy_violation",
        `The model ${name} is served by a remote backend, so its provenance is unknown to Ostrom and the serving policy cannot be checked; it is refused.`,
      );
    return {
      "x-ostrom-model-digest": "unknown",
      "x-ostrom-model-license": "unknown",
      "x-ostrom-mof-class": "unclassified",
      "x-ostrom-osaid": "fail",
    };
  }

  async summarize(entry: ModelEntry): Promise<ProvenanceSummary> {
    return this.#summarize(entry, await this.describe(entry));
  }

  #evaluate(provenance: ModelProvenance): PolicyResult {
    const failures =
      this.#policy === undefined
        ? []
        : evaluatePolicy(provenance.record, provenance.assessment, this.#policy);
    return { servable: failures.length === 0, failures };
  }

  #summarize(entry: ModelEntry, provenance: ModelProvenance): ProvenanceSummary {
    return summarizeProvenance(entry, provenance.assessment, provenance, this.#evaluate(provenance));
  }
}

function summarizeProvenance(
  entry: ModelEntry,
  assessment: OpennessAssessment,
  provenance: ModelProvenance,
  policy: PolicyResult,
): ProvenanceSummary {
  return {
    digest: entry.digest,
    license: provenance.record.license?.value?.expression ?? "unknown",
    mofClass: assessment.mofClassLabel,
    osaid: assessment.osaid.passes ? "pass" : "fail",
    flags: assessment.flags.map((flag) => flag.code),
    policy,
  };
}
