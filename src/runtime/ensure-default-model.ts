// First start: when the store is empty, pull the default catalog model in the background (through
// the mirrors first), or, offline, tell the user exactly how to add a model. Never blocks serving.
import type { Config } from "../config/config-schema.ts";
import type { ModelStore } from "../store/model-store.ts";
import { pullModel } from "../store/pull-model.ts";
import type { Logger } from "../util/logger.ts";

export function describeHowToAddModel(): string {
  return [
    "No model is in the store yet. Add one with either:",
    "  ostrom import ./model.gguf --name my-model     (a GGUF file you have)",
    "  ostrom pull stories260k                         (a catalog model; needs a hub or a --mirror)",
    "  ostrom pull https://host/path/model.gguf        (any GGUF URL)",
  ].join("\n");
}

export async function ensureDefaultModel(store: ModelStore, config: Config, log: Logger): Promise<void> {
  if ((await store.list()).length > 0) return;
  if (!config.pullOnStart || (config.offline && config.mirrors.length === 0)) {
    log.warn(describeHowToAddModel());
    return;
  }
  log.info(`store is empty: pulling the default model ${config.defaultModel} in the background`);
  try {
    const entry = await pullModel(store, config.defaultModel, {
      mirrors: config.mirrors,
      offline: config.offline,
    });
    log.info(`pulled ${entry.ref} (${entry.digest}); it is ready to serve`);
  } catch (error) {
    log.warn(
      `could not pull ${config.defaultModel}: ${(error as Error).message}\n${describeHowToAddModel()}`,
    );
  }
}
