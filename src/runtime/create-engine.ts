// Builds the local node-llama-cpp engine a configuration asks for. Remote engines are backends of the
// dispatcher (create-dispatcher.ts), built from `--backend`.
import type { Config } from "../config/config-schema.ts";
import { LocalEngine } from "../engine/local/local-engine.ts";
import type { Logger } from "../util/logger.ts";

export function createEngine(config: Config, log: Logger): LocalEngine {
  return new LocalEngine({
    threads: config.threads,
    contextSize: config.contextSize,
    parallel: config.parallel,
    maxQueue: config.maxQueue,
    keepAliveMs: config.keepAlive * 1000,
    maxLoadedModels: config.maxLoadedModels,
    memoryLimit: config.memoryLimit,
    maxOutputTokens: config.maxOutputTokens,
    log: (message) => log.info(message),
  });
}
