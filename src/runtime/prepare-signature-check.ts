// The signature check `ostrom import` and `ostrom pull` run with `--signature FILE --public-key KEY`:
// the key and signature files are read (and refused if malformed) before any model byte is copied;
// then, once the store has hashed the file, the signature is verified over its digest and the signer
// recorded under `<data-dir>/provenance/signatures/`, all before the model is added, so a bad
// signature leaves nothing behind. No HTTP, no engine.

import { readFile, stat } from "node:fs/promises";
import type { Config } from "../config/config-schema.ts";
import { OstromError } from "../errors.ts";
import {
  readSignatureBytes,
  readSignerKey,
  type SignatureRecord,
  verifyModelSignature,
} from "../provenance/model-signature.ts";
import { ProvenanceOverlayStore } from "../provenance/provenance-overlay-store.ts";

export interface SignatureCheckOptions {
  /** The detached signature: 64 raw bytes or their base64. */
  readonly signatureFile: string;
  /** The ed25519 public key: PEM or an OpenSSH `ssh-ed25519` line. */
  readonly publicKeyFile: string;
  /** Who signed; default: the OpenSSH key's comment, else unnamed. */
  readonly signer?: string;
  /** The model's name, for messages. */
  readonly modelName: string;
}

export interface SignatureCheck {
  /** Pass as the store's `verifyDigest`. */
  readonly verifyDigest: (digest: string) => Promise<void>;
  /** The recorded signature, once `verifyDigest` has passed. */
  readonly result: () => SignatureRecord | undefined;
}

/** Keys and signatures are a few hundred bytes; anything much larger is the wrong file. */
const maxInputBytes = 16 * 1024;

export async function prepareSignatureCheck(
  config: Pick<Config, "dataDir">,
  options: SignatureCheckOptions,
): Promise<SignatureCheck> {
  const key = readSignerKey(await readInput(options.publicKeyFile, "public_key"), options.publicKeyFile);
  const signature = readSignatureBytes(
    await readInput(options.signatureFile, "signature"),
    options.signatureFile,
  );
  const overlays = new ProvenanceOverlayStore(config.dataDir);
  let recorded: SignatureRecord | undefined;
  return {
    async verifyDigest(digest) {
      const record = verifyModelSignature({
        digest,
        signature,
        key,
        signer: options.signer,
        modelName: options.modelName,
      });
      await overlays.writeSignature(record);
      recorded = record;
    },
    result: () => recorded,
  };
}

async function readInput(file: string, param: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new OstromError("signature_invalid", `Cannot read ${file}: ${(error as Error).message}`, {
      param,
      cause: error,
    });
  }
  if (size > maxInputBytes) {
    throw new OstromError(
      "signature_invalid",
      `${file} is too large (${size} bytes) to be a key or signature.`,
      {
        param,
      },
    );
  }
  try {
    return await readFile(file);
  } catch (error) {
    throw new OstromError("signature_invalid", `Cannot read ${file}: ${(error as Error).message}`, {
      param,
      cause: error,
    });
  }
}
