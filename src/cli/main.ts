// Ostrom's command line: parses flags (configuration flags from the one schema, plus each command's
// own), runs the command, and prints errors as one clear line with a non-zero exit code.
import { parseArgs } from "node:util";
import { formatConfigHelp } from "../config/describe-config.ts";
import { getConfigArgOptions, loadConfig } from "../config/load-config.ts";
import { isOstromError } from "../errors.ts";
import { createLogger, type LogLevel } from "../util/logger.ts";
import type { Command } from "./command.ts";
import { askCommand } from "./commands/ask-command.ts";
import { assessCommand } from "./commands/assess-command.ts";
import { bomCommand } from "./commands/bom-command.ts";
import { buildEngineCommand } from "./commands/build-engine-command.ts";
import { chatCommand } from "./commands/chat-command.ts";
import { declareCommand } from "./commands/declare-command.ts";
import { importCommand } from "./commands/import-command.ts";
import { inspectCommand } from "./commands/inspect-command.ts";
import { kbCommand } from "./commands/kb-command.ts";
import { keyCommand } from "./commands/key-command.ts";
import { lsCommand } from "./commands/ls-command.ts";
import { mcpCommand } from "./commands/mcp-command.ts";
import { pullCommand } from "./commands/pull-command.ts";
import { rmCommand } from "./commands/rm-command.ts";
import { runCommand } from "./commands/run-command.ts";
import { serveCommand } from "./commands/serve-command.ts";
import { tenantCommand } from "./commands/tenant-command.ts";
import { usageCommand } from "./commands/usage-command.ts";

const commands: Command[] = [
  serveCommand,
  pullCommand,
  importCommand,
  lsCommand,
  rmCommand,
  inspectCommand,
  runCommand,
  chatCommand,
  assessCommand,
  bomCommand,
  declareCommand,
  kbCommand,
  askCommand,
  mcpCommand,
  tenantCommand,
  keyCommand,
  usageCommand,
  buildEngineCommand,
];

function formatUsage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    "Usage: ostrom COMMAND [options]",
    "",
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    "Run `ostrom COMMAND --help` for a command's options.",
  ].join("\n");
}

function formatCommandHelp(command: Command): string {
  const own = Object.entries(command.flags).map(
    ([name, flag]) => `  --${name}${flag.type === "string" ? " VALUE" : ""}\n      ${flag.description}`,
  );
  return [
    `Usage: ${command.usage}`,
    "",
    command.summary,
    "",
    ...(own.length > 0 ? ["Options:", ...own, ""] : []),
    "Configuration:",
    formatConfigHelp(),
    "",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${formatUsage()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`ostrom: unknown command "${name}"\n\n${formatUsage()}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(formatCommandHelp(command));
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...getConfigArgOptions(), ...command.flags },
      allowPositionals: true,
      strict: true,
    });
    const [min, max] = command.positionals;
    if (positionals.length < min || positionals.length > max) {
      process.stderr.write(`ostrom ${command.name}: wrong number of arguments\nUsage: ${command.usage}\n`);
      return 2;
    }
    const config = loadConfig({ args: values });
    const log = createLogger(config.logLevel as LogLevel);
    const flags = Object.fromEntries(
      Object.keys(command.flags).map((key) => [key, values[key] as string | boolean | undefined]),
    );
    return (
      (await command.run({
        config,
        flags,
        positionals,
        log,
        stdout: process.stdout,
        stderr: process.stderr,
      })) ?? 0
    );
  } catch (error) {
    if (isOstromError(error)) {
      process.stderr.write(`ostrom ${command.name}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`ostrom ${command.name}: ${error.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    process.stderr.write(
      `ostrom ${command.name}: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    return 1;
  }
}
