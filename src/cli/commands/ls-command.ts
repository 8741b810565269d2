// `ostrom ls`: the models in the store.
import { openStore } from "../../runtime/open-store.ts";
import type { Command } from "../command.ts";
import { formatBytes } from "../progress-bar.ts";

export const lsCommand: Command = {
  name: "ls",
  usage: "ostrom ls [--json]",
  summary: "List the models in the store.",
  flags: { json: { type: "boolean", description: "Print JSON for machines." } },
  positionals: [0, 0],
  async run({ config, flags, stdout }) {
    const models = await (await openStore(config)).list();
    if (flags.json) {
      stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    if (models.length === 0) {
      stdout.write("No models. Add one with `ostrom import FILE` or `ostrom pull REF`.\n");
      return 0;
    }
    const rows = models.map((model) => [
      model.ref,
      model.digest.slice(7, 19),
      formatBytes(model.size),
      model.createdAt.slice(0, 19),
    ]);
    stdout.write(formatTable(["NAME", "DIGEST", "SIZE", "ADDED"], rows));
    return 0;
  },
};

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const format = (row: string[]) =>
    `${row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd()}\n`;
  return [header, ...rows].map(format).join("");
}
