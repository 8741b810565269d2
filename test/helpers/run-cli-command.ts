// Runs one CLI command in process, as `main` would after parsing, with stdout and stderr captured.
import { PassThrough } from "node:stream";
import type { Command } from "../../src/cli/command.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { silentLogger } from "../../src/util/logger.ts";

export interface CommandResult {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

export async function runCliCommand(
  command: Command,
  dataDir: string,
  positionals: string[],
  flags: Record<string, string | boolean> = {},
): Promise<CommandResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await command.run({
    config: loadConfig({ env: {}, args: { "data-dir": dataDir } }),
    flags,
    positionals,
    log: silentLogger,
    stdout,
    stderr,
  });
  return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
