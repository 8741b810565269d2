// The shape of a CLI command: its own flags beside the shared configuration flags, and a run function
// that gets typed configuration plus its parsed flags and positionals.
import type { Config } from "../config/config-schema.ts";
import type { Logger } from "../util/logger.ts";

export interface CommandFlag {
  type: "string" | "boolean";
  description: string;
  short?: string;
}

export interface CommandInput {
  config: Config;
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  log: Logger;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  flags: Record<string, CommandFlag>;
  /** Number of positional arguments accepted: [min, max]. */
  positionals: [number, number];
  run(input: CommandInput): Promise<number | undefined>;
}
