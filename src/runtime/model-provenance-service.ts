// What Ostrom knows and enforces about each stored model's provenance: the merged record and its
// openness assessment (computed once per digest), the serving policy check, and the short summary
// sent with every response. The server and CLI share it; it knows nothing of HTTP.
import { readFile } from "node:fs/promises";
import type { OpennessAssessment } from "../provenance/assess-openness.ts";
import {
  createProvenanceCatalog,
  loadProvenanceCatalog,
  type ProvenanceCatalog,
} from "../provenance/catalog.ts";
import { describeModelProvenance, type ModelProvenance } from "../provenance/describe-model-provenance.ts";
import { assertPolicy, parseServingPolicy, type ServingPolicy } from "../provenance/serving-policy.ts";
import type { ModelEntry } from "../store/model-store.ts";
import type { Logger } from "../util/logger.ts";

/** The few facts every response and model listing carries. */
export interface ProvenanceSummary {
  digest: string;
  /** SPDX expression, or `unknown`. */
  license: string;
  /** e.g. "Class II (Open Tooling)" or "unclassified". */
  mofClass: string;
  osaid: "pass" | "fail";
  flags: string[];
}

export class ModelProvenanceService {
  readonly #policy: ServingPolicy | undefined;
  readonly #catalog: Promise<ProvenanceCatalog>;
  readonly #byDigest = new Map<string, Promise<ModelProvenance>>();

  private constructor(policy: ServingPolicy | undefined, catalog: Promise<ProvenanceCatalog>) {
    this.#policy = policy;
    this.#catalog = catalog;
  }

  /**
   * `policyFile`: a JSON serving policy; empty for none (every model may be served). A missing or broken
   * catalog is logged and treated as empty: models are then judged on their GGUF metadata alone.
   */
  static async create(policyFile: string, log: Logger): Promise<ModelProvenanceService> {
    const policy =
      policyFile === "" ? undefined : parseServingPolicy(await readFile(policyFile, "utf8"), policyFile);
    const catalog = loadProvenanceCatalog().catch((error: unknown) => {
      log.warn(`provenance catalog unavailable, using GGUF metadata only: ${(error as Error).message}`);
      return createProvenanceCatalog([]);
    });
    return new ModelProvenanceService(policy, catalog);
  }

  describe(entry: ModelEntry): Promise<ModelProvenance> {
    let known = this.#byDigest.get(entry.digest);
    if (!known) {
      known = this.#catalog.then((catalog) =>
        describeModelProvenance({
          path: entry.path,
          digest: entry.digest,
          catalog,
          names: [entry.name, entry.ref],
        }),
      );
      known.catch(() => this.#byDigest.delete(entry.digest));
      this.#byDigest.set(entry.digest, known);
    }
    return known;
  }

  /** Throws `policy_violation` naming every failed rule when the policy forbids serving `entry`. */
  async assertServable(entry: ModelEntry): Promise<ProvenanceSummary> {
    const provenance = await this.describe(entry);
    if (this.#policy) assertPolicy(provenance.record, provenance.assessment, this.#policy, entry.ref);
    return summarizeProvenance(entry, provenance.assessment, provenance);
  }

  async summarize(entry: ModelEntry): Promise<ProvenanceSummary> {
    const provenance = await this.describe(entry);
    return summarizeProvenance(entry, provenance.assessment, provenance);
  }
}

function summarizeProvenance(
  entry: ModelEntry,
  assessment: OpennessAssessment,
  provenance: ModelProvenance,
): ProvenanceSummary {
  return {
    digest: entry.digest,
    license: provenance.record.license?.value?.expression ?? "unknown",
    mofClass: assessment.mofClassLabel,
    osaid: assessment.osaid.passes ? "pass" : "fail",
    flags: assessment.flags.map((flag) => flag.code),
  };
}
