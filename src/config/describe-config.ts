// Renders the configuration schema for people: the options part of `ostrom serve --help` and the
// whole of docs/configuration.md. Both come from `configSchema`, so they cannot drift from the code.
import { configSchema, type OptionDefinition } from "./config-schema.ts";

function describeDefault(definition: OptionDefinition): string {
  if (definition.defaultText !== undefined) return definition.defaultText;
  const value = definition.default;
  if (typeof value === "function") return "(computed)";
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.join(",");
  return String(value);
}

function describeValue(definition: OptionDefinition): string {
  switch (definition.kind) {
    case "boolean":
      return "";
    case "bytes":
      return " SIZE";
    case "seconds":
      return " SECONDS";
    case "integer":
      return " N";
    case "list":
      return " VALUE";
    case "string":
      return definition.choices ? ` ${definition.choices.join("|")}` : " VALUE";
    default:
      return definition.kind satisfies never;
  }
}

export function formatConfigHelp(): string {
  const lines: string[] = [];
  for (const definition of Object.values(configSchema) as OptionDefinition[]) {
    lines.push(
      `  ${definition.flag}${describeValue(definition)}  (env ${definition.env}, default ${describeDefault(definition)})`,
    );
    lines.push(`      ${definition.description}`);
  }
  return lines.join("\n");
}

export function formatConfigMarkdown(): string {
  const rows = (Object.values(configSchema) as OptionDefinition[]).map(
    (definition) =>
      `| \`${definition.flag}${describeValue(definition)}\` | \`${definition.env}\` | ${describeDefault(definition)} | ${definition.description} |`,
  );
  return [
    "# Configuration",
    "",
    "<!-- Generated from src/config/config-schema.ts by `npm run docs:config`; do not edit by hand. -->",
    "",
    "Every setting can be given as a command-line flag or an environment variable; a flag wins over the",
    "variable, and the variable over the default. Sizes accept units (`512MiB`, `8GB`).",
    "",
    "| flag | environment | default | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}
