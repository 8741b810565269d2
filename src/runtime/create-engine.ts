// Builds the engine a configuration asks for. Today that is the local node-llama-cpp engine; remote
// engines will be chosen here too, so callers never name an implementation.
import os from "node:os";
import type { Config } from "../config/config-schema.ts";
import type { Engine } from "../engine/engine.ts";
import { LocalEngine } from "../engine/local/local-engine.ts";
import type { Logger } from "../util/logger.ts";

/**
 * Threads for inference: the configured count, else one less than the cores this process may use.
 * The spare core keeps the server's own thread and the runner's JavaScript thread off the ggml
 * thread pool: measured on 2 cores (docs/benchmarks.md), any contention there costs far more than
 * a second compute thread gains, and node-llama-cpp 3.22 also starts its threads anew every token.
 */
export function resolveThreadCount(configured: number, cores = os.availableParallelism()): number {
  return configured > 0 ? configured : Math.max(1, cores - 1);
}

export function createEngine(config: Config, log: Logger): Engine {
  return new LocalEngine({
    threads: resolveThreadCount(config.threads),
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
