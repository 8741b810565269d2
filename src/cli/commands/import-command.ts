// `ostrom import FILE --name NAME`: adds a local GGUF to the store after validating it.
import path from "node:path";
import { openStore } from "../../runtime/open-store.ts";
import { deriveModelName } from "../../store/model-ref.ts";
import type { Command } from "../command.ts";

export const importCommand: Command = {
  name: "import",
  usage: "ostrom import FILE [--name NAME[:TAG]]",
  summary: "Add a local GGUF file to the store (validated, content-addressed).",
  flags: {
    name: { type: "string", description: "Name to give the model; default derived from the file name." },
  },
  positionals: [1, 1],
  async run({ config, flags, positionals, stdout }) {
    const file = positionals[0]!;
    const store = await openStore(config);
    const name = typeof flags.name === "string" ? flags.name : deriveModelName(path.basename(file)).ref;
    const entry = await store.importFile(file, { name });
    stdout.write(`imported ${entry.ref} ${entry.digest} (${entry.size} bytes)\n`);
    return 0;
  },
};
