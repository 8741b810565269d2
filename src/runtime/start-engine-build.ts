// `ostrom serve`'s background engine build: when models may use several cores and the OpenMP build of
// node-llama-cpp is missing, build it (or restore the kept one) at the lowest CPU priority while the
// server runs on the prebuilt engine, then let loaded models switch to it when they are next idle.
// Never blocks serving; a build that cannot run only logs why.
import os from "node:os";
import path from "node:path";
import type { Config } from "../config/config-schema.ts";
import { installOpenMpBuild, resolveNodeLlamaCppDir } from "../engine/local/openmp-build.ts";
import { wantsThreadTeam } from "../engine/local/resolve-thread-count.ts";
import type { Logger } from "../util/logger.ts";

export interface EngineBuildTask {
  /** Cancels a build in progress (killing the compilers) and waits for it to end. */
  stop(): Promise<void>;
}

/** Where builds are kept across reinstalls: `<data-dir>/engine`. */
export function engineCacheDir(config: Config): string {
  return path.join(config.dataDir, "engine");
}

export function startEngineBuild(config: Config, log: Logger, onInstalled: () => void): EngineBuildTask {
  if (config.engineBuild !== "background" || !wantsThreadTeam(config.threads, os.availableParallelism()))
    return { stop: async () => undefined };
  const controller = new AbortController();
  const done = (async () => {
    try {
      const outcome = await installOpenMpBuild({
        packageDir: resolveNodeLlamaCppDir(),
        cacheDir: engineCacheDir(config),
        log: (message) => log.info(message),
        signal: controller.signal,
        priority: 19,
        skipAfterFailure: true,
      });
      if (outcome === "installed") return;
      log.info(
        `${outcome === "built" ? "built" : "restored"} the OpenMP engine; loaded models switch to it when next idle`,
      );
      onInstalled();
    } catch (error) {
      if (controller.signal.aborted) return;
      log.warn(
        `the OpenMP engine was not built, so models keep the prebuilt engine: ${(error as Error).message}`,
      );
    }
  })();
  return {
    async stop() {
      controller.abort();
      await done;
    },
  };
}
