// `ostrom serve`: runs the HTTP server until SIGTERM/SIGINT, then drains and exits.
import { startServer } from "../../server/start-server.ts";
import type { Command } from "../command.ts";

export const serveCommand: Command = {
  name: "serve",
  usage: "ostrom serve [--port N] [--data-dir DIR] [options]",
  summary: "Serve the OpenAI-compatible API (and web console) on one port.",
  flags: {},
  positionals: [0, 0],
  async run({ config, log, stdout }) {
    const server = await startServer(config, log);
    stdout.write(`Ostrom is running at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info(`${signal} received`);
        process.off("SIGTERM", onTerm);
        process.off("SIGINT", onInt);
        void server.shutdown().then(resolve);
      };
      const onTerm = () => stop("SIGTERM");
      const onInt = () => stop("SIGINT");
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
    });
    return 0;
  },
};
