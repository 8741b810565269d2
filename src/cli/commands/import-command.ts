// `ostrom import FILE --name NAME`: adds a local GGUF to the store after validating it; with
// `--signature` and `--public-key`, only if the detached ed25519 signature over its digest verifies.
import path from "node:path";
import { invalidParameter } from "../../errors.ts";
import { openStore } from "../../runtime/open-store.ts";
import { prepareSignatureCheck } from "../../runtime/prepare-signature-check.ts";
import { deriveModelName } from "../../store/model-ref.ts";
import type { Command, CommandFlag, CommandInput } from "../command.ts";

/** The signature flags `import` and `pull` share. */
export const signatureFlags: Record<string, CommandFlag> = {
  signature: {
    type: "string",
    description:
      'Detached ed25519 signature (raw or base64) over the message "ostrom-model-signature-v1\\nsha256:<hex>\\n"; the model is refused unless it verifies.',
  },
  "public-key": {
    type: "string",
    description:
      "The signer's ed25519 public key: PEM, or an OpenSSH ssh-ed25519 line (its comment names the signer).",
  },
  signer: { type: "string", description: "Who signed, recorded with the key's fingerprint." },
};

/** The store's `verifyDigest` for the signature flags, or undefined when none are given. */
export async function prepareSignatureFlags(
  input: CommandInput,
  modelName: string,
): Promise<((digest: string) => Promise<void>) | undefined> {
  const { signature, signer } = input.flags;
  const publicKey = input.flags["public-key"];
  if (signature === undefined && publicKey === undefined) {
    if (signer !== undefined)
      throw invalidParameter("signer", "--signer needs --signature and --public-key.");
    return undefined;
  }
  if (typeof signature !== "string")
    throw invalidParameter("signature", "--public-key needs --signature FILE.");
  if (typeof publicKey !== "string")
    throw invalidParameter("public-key", "--signature needs --public-key FILE.");
  const check = await prepareSignatureCheck(input.config, {
    signatureFile: signature,
    publicKeyFile: publicKey,
    signer: typeof signer === "string" ? signer : undefined,
    modelName,
  });
  return async (digest) => {
    await check.verifyDigest(digest);
    const record = check.result();
    if (record !== undefined) {
      input.stderr.write(
        `signature verified: signed by ${record.signer ?? "an unnamed signer"} with key ${record.key_fingerprint}\n`,
      );
    }
  };
}

export const importCommand: Command = {
  name: "import",
  usage: "ostrom import FILE [--name NAME[:TAG]] [--signature FILE.sig --public-key KEY.pem [--signer NAME]]",
  summary: "Add a local GGUF file to the store (validated, content-addressed, optionally signature-checked).",
  flags: {
    name: { type: "string", description: "Name to give the model; default derived from the file name." },
    ...signatureFlags,
  },
  positionals: [1, 1],
  async run(input) {
    const { config, flags, positionals, stdout } = input;
    const file = positionals[0]!;
    const name = typeof flags.name === "string" ? flags.name : deriveModelName(path.basename(file)).ref;
    const verifyDigest = await prepareSignatureFlags(input, name);
    const store = await openStore(config);
    const entry = await store.importFile(file, { name, verifyDigest });
    stdout.write(`imported ${entry.ref} ${entry.digest} (${entry.size} bytes)\n`);
    return 0;
  },
};
