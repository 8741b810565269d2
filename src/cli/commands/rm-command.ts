// `ostrom rm MODEL`: removes a name from the store (and its file when no other name uses it).
import { openStore } from "../../runtime/open-store.ts";
import type { Command } from "../command.ts";

export const rmCommand: Command = {
  name: "rm",
  usage: "ostrom rm MODEL...",
  summary: "Remove models from the store.",
  flags: {},
  positionals: [1, 64],
  async run({ config, positionals, stdout }) {
    const store = await openStore(config);
    for (const ref of positionals) {
      const removed = await store.remove(ref);
      stdout.write(
        `removed ${removed.ref}${removed.blobRemoved ? " (file deleted)" : " (file kept: another name uses it)"}\n`,
      );
    }
    return 0;
  },
};
