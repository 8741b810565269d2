// Builds the engine a configuration asks for. Today that is the local node-llama-cpp engine; remote
// engines will be chosen here too, so callers never name an implementation.
import type { Config } from "../config/config-schema.ts";
import type { Engine } from "../engine/engine.ts";
import { LocalEngine } from "../engine/local/local-engine.ts";
import type { Logger } from "../util/logger.ts";

export function createEngine(config: Config, log: Logger): Engine {
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
