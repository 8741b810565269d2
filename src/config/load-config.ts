// Resolves the typed configuration from command-line values and the environment, in that order of
// precedence, then the schema's defaults. The only place that reads environment variables.
import { OstromError } from "../errors.ts";
import { type Config, type ConfigKey, configSchema, type OptionDefinition } from "./config-schema.ts";

/** Values as produced by node:util `parseArgs` for the options of `getConfigArgOptions()`. */
export type ConfigArgValues = Partial<Record<string, string | boolean | Array<string | boolean> | undefined>>;

export interface LoadConfigOptions {
  args?: ConfigArgValues;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig({ args = {}, env = process.env }: LoadConfigOptions = {}): Config {
  const config: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(configSchema) as Array<[ConfigKey, OptionDefinition]>) {
    const flagName = definition.flag.slice(2);
    const fromArgs = args[flagName];
    const fromEnv = env[definition.env];
    if (fromArgs !== undefined) {
      config[key] = parseValue(definition, fromArgs, definition.flag);
    } else if (fromEnv !== undefined && fromEnv !== "") {
      config[key] = parseValue(definition, fromEnv, definition.env);
    } else {
      config[key] = typeof definition.default === "function" ? definition.default() : definition.default;
    }
  }
  return config as Config;
}

/** The `options` argument for node:util `parseArgs` covering every configuration flag. */
export function getConfigArgOptions(): Record<string, { type: "string" | "boolean"; multiple?: boolean }> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const definition of Object.values(configSchema) as OptionDefinition[]) {
    const name = definition.flag.slice(2);
    if (definition.kind === "boolean") options[name] = { type: "boolean" };
    else if (definition.kind === "list") options[name] = { type: "string", multiple: true };
    else options[name] = { type: "string" };
  }
  return options;
}

function parseValue(
  definition: OptionDefinition,
  raw: string | boolean | Array<string | boolean>,
  source: string,
): unknown {
  const fail = (expected: string): never => {
    throw new OstromError(
      "invalid_configuration",
      `${source}: expected ${expected}, got ${JSON.stringify(raw)}`,
    );
  };
  switch (definition.kind) {
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      const text = String(raw).trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(text)) return true;
      if (["0", "false", "no", "off"].includes(text)) return false;
      return fail("a boolean (true/false)");
    }
    case "list": {
      const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((item) => String(item).split(","));
      return parts.map((part) => part.trim()).filter((part) => part !== "");
    }
    case "string": {
      const text = String(raw);
      if (definition.choices && !definition.choices.includes(text))
        return fail(`one of ${definition.choices.join(", ")}`);
      return text;
    }
    case "integer":
    case "seconds":
    case "bytes": {
      const value = definition.kind === "bytes" ? parseByteSize(String(raw)) : Number(String(raw).trim());
      if (value === undefined || !Number.isFinite(value))
        return fail(definition.kind === "bytes" ? "a size such as 512MiB" : "a number");
      if (definition.kind === "integer" && !Number.isInteger(value)) return fail("an integer");
      if (definition.min !== undefined && value < definition.min) return fail(`a value ≥ ${definition.min}`);
      if (definition.max !== undefined && value > definition.max) return fail(`a value ≤ ${definition.max}`);
      return value;
    }
    default:
      return definition.kind satisfies never;
  }
}

const byteUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};

/** Parses `4096`, `512MiB`, `8 GB`, `1.5g` into bytes; undefined when malformed. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = byteUnits[(match[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}
