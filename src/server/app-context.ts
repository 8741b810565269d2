// What the HTTP layer needs from the rest of Ostrom, passed in explicitly (no globals, no imports of
// implementations), so routes are tested in process with real or fake collaborators.
import type { Config } from "../config/config-schema.ts";
import type { Engine, ModelHandle } from "../engine/engine.ts";
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
  config: Pick<Config, "maxBodyBytes" | "maxOutputTokens">;
  log: Logger;
  /** True once the server is draining for shutdown. */
  isDraining: () => boolean;
}

export function toModelHandle(entry: ModelEntry): ModelHandle {
  return { ref: entry.ref, digest: entry.digest, path: entry.path };
}
