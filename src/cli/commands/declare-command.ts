// `ostrom declare MODEL FILE.yml`: stores what an administrator declares about a stored model (a
// license correction, disclosed training data, where an MOF component is published), in the Model
// Openness Tool's YAML shape as an overlay; those facts then win over the GGUF header and the
// catalog, with source `declared`. `--clear` removes the declaration. Declarations are kept per
// file digest under `<data-dir>/provenance/declared/`; a running server notices the change.
import { readFile, stat } from "node:fs/promises";
import { invalidParameter } from "../../errors.ts";
import { getDeclaredFacts } from "../../provenance/admin-declaration.ts";
import { maxDeclarationBytes, ProvenanceOverlayStore } from "../../provenance/provenance-overlay-store.ts";
import { openStore } from "../../runtime/open-store.ts";
import type { Command } from "../command.ts";

export const declareCommand: Command = {
  name: "declare",
  usage: "ostrom declare MODEL FILE.yml | ostrom declare MODEL --clear",
  summary: "Declare provenance facts about a model (MOT-style YAML overlay) that override GGUF and catalog.",
  flags: { clear: { type: "boolean", description: "Remove the model's declaration." } },
  positionals: [1, 2],
  async run({ config, flags, positionals, stdout }) {
    const [ref, file] = positionals as [string, string | undefined];
    if (flags.clear === true && file !== undefined)
      throw invalidParameter("clear", "Give either FILE.yml or --clear, not both.");
    if (flags.clear !== true && file === undefined)
      throw invalidParameter("file", "Give the declaration FILE.yml, or --clear to remove it.");
    const entry = await (await openStore(config)).resolve(ref);
    const overlays = new ProvenanceOverlayStore(config.dataDir);
    if (file === undefined) {
      const removed = await overlays.clearDeclaration(entry.digest);
      stdout.write(
        removed ? `cleared the declaration for ${entry.ref}\n` : `${entry.ref} had no declaration\n`,
      );
      return 0;
    }
    const size = (await stat(file).catch(() => undefined))?.size;
    if (size === undefined) throw invalidParameter("file", `No file at ${file}.`);
    if (size > maxDeclarationBytes)
      throw invalidParameter("file", `${file} is larger than ${maxDeclarationBytes} bytes.`);
    const stored = await overlays.writeDeclaration(entry.digest, await readFile(file, "utf8"), file);
    const facts = getDeclaredFacts(stored.declaration, {});
    const names = [
      ...Object.keys(facts).filter((key) => key !== "components"),
      ...Object.keys(facts.components ?? {}).map((id) => `component ${id}`),
    ];
    stdout.write(`declared for ${entry.ref} (${entry.digest}): ${names.join(", ")}\n`);
    return 0;
  },
};
