// Opens the model store under the configured data directory.
import path from "node:path";
import type { Config } from "../config/config-schema.ts";
import { ModelStore } from "../store/model-store.ts";

export function openStore(config: Pick<Config, "dataDir">): Promise<ModelStore> {
  return ModelStore.open(path.join(config.dataDir, "models"));
}
