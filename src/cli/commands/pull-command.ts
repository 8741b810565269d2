// `ostrom pull REF`: downloads a model through the mirrors (then the hub), resumable and verified;
// with `--signature` and `--public-key`, kept only if the signature over its digest verifies.
import { openStore } from "../../runtime/open-store.ts";
import { pullModel } from "../../store/pull-model.ts";
import type { Command } from "../command.ts";
import { createProgressBar } from "../progress-bar.ts";
import { prepareSignatureFlags, signatureFlags } from "./import-command.ts";

export const pullCommand: Command = {
  name: "pull",
  usage:
    "ostrom pull REF [--name NAME[:TAG]] [--sha256 HEX] [--mirror URL|DIR]... [--offline] [--signature FILE.sig --public-key KEY.pem]",
  summary: "Download a model: a catalog name, an https:// URL, or a Hugging Face owner/repo/file.gguf.",
  flags: {
    name: {
      type: "string",
      description: "Name to give the model; default from the catalog or the file name.",
    },
    sha256: {
      type: "string",
      description: "Expected sha256 of the file; the download is refused if it differs.",
    },
    ...signatureFlags,
  },
  positionals: [1, 1],
  async run(input) {
    const { config, flags, positionals, stdout, stderr } = input;
    const verifyDigest = await prepareSignatureFlags(
      input,
      typeof flags.name === "string" ? flags.name : positionals[0]!,
    );
    const store = await openStore(config);
    const bar = createProgressBar(stderr);
    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once("SIGINT", onInterrupt);
    try {
      const entry = await pullModel(store, positionals[0]!, {
        name: typeof flags.name === "string" ? flags.name : undefined,
        expectedSha256: typeof flags.sha256 === "string" ? flags.sha256 : undefined,
        mirrors: config.mirrors,
        offline: config.offline,
        signal: controller.signal,
        verifyDigest,
        onProgress: (event) => {
          if (event.phase === "downloading") bar.update(event.receivedBytes, event.totalBytes, "pulling");
          else if (event.phase === "connecting") stderr.write(`trying ${event.source}\n`);
          else if (event.phase === "verifying") bar.finish("verifying sha256 and GGUF header");
        },
      });
      stdout.write(`pulled ${entry.ref} ${entry.digest} (${entry.size} bytes)\n`);
      return 0;
    } finally {
      process.off("SIGINT", onInterrupt);
    }
  },
};
