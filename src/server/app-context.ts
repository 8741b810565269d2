// What the HTTP layer needs from the rest of Ostrom, passed in explicitly (no globals, no imports of
// implementations), so routes are tested in process with real or fake collaborators.
import type { Config } from "../config/config-schema.ts";
import type { Engine, ModelHandle } from "../engine/engine.ts";
import type { ModelProvenanceService, ProvenanceSummary } from "../runtime/model-provenance-service.ts";
import type { ModelEntry } from "../store/model-store.ts";
import type { Logger } from "../util/logger.ts";

export interface ModelCatalogView {
  list(): Promise<ModelEntry[]>;
  /** Resolves `name[:tag]`; throws `model_not_found`. */
  resolve(ref: string): Promise<ModelEntry>;
}

export interface AppContext {
  engine: Engine;
  models: ModelCatalogView;
  provenance: ModelProvenanceService;
  config: Pick<Config, "maxBodyBytes" | "maxOutputTokens">;
  log: Logger;
  /** True once the server is draining for shutdown. */
  isDraining: () => boolean;
}

export function toModelHandle(entry: ModelEntry): ModelHandle {
  return { ref: entry.ref, digest: entry.digest, path: entry.path };
}

export interface ServableModel {
  model: ModelHandle;
  /** Response headers naming what was served: digest, license, MOF class, OSAID verdict. */
  headers: Record<string, string>;
}

/** Resolves a requested model and checks the serving policy; every generating route starts here. */
export async function resolveServableModel(context: AppContext, name: string): Promise<ServableModel> {
  const entry = await context.models.resolve(name);
  const summary = await context.provenance.assertServable(entry);
  return { model: toModelHandle(entry), headers: toProvenanceHeaders(summary) };
}

export function toProvenanceHeaders(summary: ProvenanceSummary): Record<string, string> {
  return {
    "x-ostrom-model-digest": summary.digest,
    "x-ostrom-model-license": summary.license,
    "x-ostrom-mof-class": summary.mofClass,
    "x-ostrom-osaid": summary.osaid,
  };
}
