// `ostrom serve`'s background engine build: when models may use several cores and the OpenMP build of
// node-llama-cpp is missing, build it (or restore the kept one) at the lowest CPU priority while the
// server runs on the prebuilt engine, then let loaded models switch to it when they are next idle.
// Never blocks serving; a build that cannot run only logs why.
import os from "node:os";
import path from "node:path";
import type { Config } from "../config/config-schema.ts";
import {
  installOpenMpBuild,
  type OpenMpBuildOptions,
  type OpenMpBuildOutcome,
  resolveNodeLlamaCppDir,
} from "../engine/local/openmp-build.ts";
import { wantsThreadTeam } from "../engine/local/resolve-thread-count.ts";
import type { Logger } from "../util/logger.ts";

export interface EngineBuildTask {
  /** Cancels a build in progress (killing the compilers) and waits for it to end. */
  stop(): Promise<void>;
}

/**
 * Installs the OpenMP build for the node-llama-cpp this process runs, keeping builds in
 * `<data-dir>/engine` (what `ostrom serve` does in the background and `ostrom build-engine` in front).
 */
export function installEngineBuild(
  config: Config,
  log: Logger,
  options: Omit<OpenMpBuildOptions, "packageDir" | "cacheDir" | "log">,
): Promise<OpenMpBuildOutcome> {
  return installOpenMpBuild({
    packageDir: resolveNodeLlamaCppDir(),
    cacheDir: path.join(config.dataDir, "engine"),
    log: (message) => log.info(message),
    ...options,
  });
}

export function startEngineBuild(config: Config, log: Logger, onInstalled: () => void): EngineBuildTask {
  if (config.engineBuild !== "background" || !wantsThreadTeam(config.threads, os.availableParallelism()))
    return { stop: async () => undefined };
  const controller = new AbortController();
  const done = (async () => {
    try {
      const outcome = await installEngineBuild(config, log, {
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
