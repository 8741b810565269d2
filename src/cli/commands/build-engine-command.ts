// `ostrom build-engine`: builds (or restores) the OpenMP engine in the foreground, with the compiler's
// output on stderr. `ostrom serve` does the same in the background unless `--engine-build off`.
import { installEngineBuild } from "../../runtime/start-engine-build.ts";
import type { Command } from "../command.ts";

export const buildEngineCommand: Command = {
  name: "build-engine",
  usage: "ostrom build-engine [--data-dir DIR]",
  summary: "Build the OpenMP engine from the llama.cpp source node-llama-cpp ships (once, ~4 min).",
  flags: {},
  positionals: [0, 0],
  async run({ config, log, stdout, stderr }) {
    const controller = new AbortController();
    const onInterrupt = () => controller.abort(new Error("interrupted"));
    process.once("SIGINT", onInterrupt);
    try {
      const outcome = await installEngineBuild(config, log, {
        signal: controller.signal,
        output: stderr,
      });
      stdout.write(
        {
          installed: "The OpenMP engine is already installed.\n",
          restored: "Restored the kept OpenMP engine build.\n",
          built: "Built and installed the OpenMP engine.\n",
        }[outcome],
      );
      return 0;
    } finally {
      process.off("SIGINT", onInterrupt);
    }
  },
};
