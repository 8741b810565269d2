// Detached ed25519 signatures over a model file's sha256 digest: who vouches for these exact bytes.
// Deliberately the simplest honest scheme, with node:crypto only and no network:
//
//   signed message = the ASCII bytes of  "ostrom-model-signature-v1\nsha256:<64 lowercase hex>\n"
//   signature      = the 64-byte ed25519 signature of that message, raw or base64 in its file
//   public key     = PEM (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY") or an OpenSSH "ssh-ed25519 AAAA… NAME"
//                    line, whose comment names the signer
//   fingerprint    = "sha256:" + hex sha256 of the key's DER SubjectPublicKeyInfo encoding
//
// The prefix keeps a model signature from being mistaken for any other message signed by the same
// key. With OpenSSL 3: `printf 'ostrom-model-signature-v1\nsha256:%s\n' "$(sha256sum m.gguf | cut
// -d' ' -f1)" > msg && openssl pkeyutl -sign -rawin -inkey key.pem -in msg -out m.gguf.sig`.
// A verified signature is kept as a `SignatureRecord` beside the store and re-verified whenever read,
// so an edited record is worthless. Errors are `signature_invalid`. Pure apart from crypto.

import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { OstromError } from "../errors.ts";
import type { ProvenanceFacts, SignerValue } from "./provenance-record.ts";

const messagePrefix = "ostrom-model-signature-v1";
const digestPattern = /^sha256:[0-9a-f]{64}$/;
const signatureBytes = 64;
const maxKeyFileBytes = 16 * 1024;
const maxNameLength = 200;

export interface SignerKey {
  readonly key: KeyObject;
  /** `sha256:<hex>` of the DER SubjectPublicKeyInfo. */
  readonly fingerprint: string;
  /** The OpenSSH key's comment; null for PEM keys or an empty comment. */
  readonly name: string | null;
  /** The key as SPKI PEM, whatever format it was read from. */
  readonly pem: string;
}

/** What Ostrom stores after verifying a signature, as JSON. */
export interface SignatureRecord {
  readonly format: "ostrom-ed25519-v1";
  readonly digest: string;
  /** SPKI PEM. */
  readonly public_key: string;
  readonly key_fingerprint: string;
  /** Who holds the key, from `--signer` or the key file; null when unnamed. */
  readonly signer: string | null;
  /** Base64 of the 64 signature bytes. */
  readonly signature: string;
  /** ISO 8601 time the signature was first verified. */
  readonly verified_at: string;
}

/** The exact bytes that are signed for a file with this digest. */
export function formatSignedMessage(digest: string): Buffer {
  if (!digestPattern.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return Buffer.from(`${messagePrefix}\n${digest}\n`, "ascii");
}

/** Reads an ed25519 public key from PEM or OpenSSH text; `file` names it in errors. */
export function readSignerKey(content: string | Buffer, file = "public key"): SignerKey {
  if (content.length > maxKeyFileBytes) fail(`${file} is too large to be a public key`, "public_key");
  const text = content.toString().trim();
  let key: KeyObject;
  let name: string | null = null;
  const ssh = /^ssh-ed25519\s+([A-Za-z0-9+/=]+)(?:\s+(.*))?$/.exec(text);
  try {
    if (ssh !== null) {
      key = createPublicKey({ key: readSshEd25519(ssh[1]!), format: "jwk" });
      name = ssh[2]?.trim() || null;
    } else if (text.includes("-----BEGIN PUBLIC KEY-----")) {
      key = createPublicKey({ key: text, format: "pem" });
    } else {
      return fail(
        `${file} is neither a PEM public key ("BEGIN PUBLIC KEY") nor an OpenSSH "ssh-ed25519" line`,
        "public_key",
      );
    }
  } catch (error) {
    if (error instanceof OstromError) throw error;
    return fail(`${file} is not a readable public key: ${(error as Error).message}`, "public_key");
  }
  if (key.asymmetricKeyType !== "ed25519") {
    fail(
      `${file} is a ${key.asymmetricKeyType ?? "unknown"} key; only ed25519 keys are supported`,
      "public_key",
    );
  }
  const der = key.export({ type: "spki", format: "der" });
  return {
    key,
    fingerprint: `sha256:${createHash("sha256").update(der).digest("hex")}`,
    name,
    pem: key.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** The 64 signature bytes from a file holding them raw or as base64 text. */
export function readSignatureBytes(content: Buffer, file = "signature"): Buffer {
  if (content.length === signatureBytes) return content;
  const text = content.toString("ascii").replace(/\s+/g, "");
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, "base64") : Buffer.alloc(0);
  if (decoded.length !== signatureBytes) {
    fail(
      `${file} does not hold an ed25519 signature (expected ${signatureBytes} raw bytes or their base64)`,
      "signature",
    );
  }
  return decoded;
}

/** True when `signature` is `key`'s signature of the message for `digest`. */
export function isValidModelSignature(digest: string, signature: Buffer, key: KeyObject): boolean {
  return verify(null, formatSignedMessage(digest), key, signature);
}

/** Signs a digest with an ed25519 private key (for tests and tooling; Ostrom itself only verifies). */
export function signModelDigest(digest: string, privateKey: KeyObject): Buffer {
  return sign(null, formatSignedMessage(digest), privateKey);
}

export interface VerifyModelSignatureOptions {
  readonly digest: string;
  readonly signature: Buffer;
  readonly key: SignerKey;
  /** Overrides the key's own name. */
  readonly signer?: string;
  /** Default: now. */
  readonly verifiedAt?: string;
  /** For messages. */
  readonly modelName?: string;
}

/** Verifies and returns the record to keep; throws `signature_invalid` when it does not verify. */
export function verifyModelSignature(options: VerifyModelSignatureOptions): SignatureRecord {
  const { digest, key } = options;
  if (!isValidModelSignature(digest, options.signature, key.key)) {
    fail(
      `The signature does not verify: ${options.modelName ?? "the file"} (${digest}) was not signed by the key ${key.fingerprint}, or it changed after signing. Nothing was imported.`,
      "signature",
    );
  }
  const signer = options.signer?.trim() || key.name;
  if (signer !== null && signer.length > maxNameLength) {
    fail(`The signer's name is longer than ${maxNameLength} characters.`, "signer");
  }
  return {
    format: "ostrom-ed25519-v1",
    digest,
    public_key: key.pem,
    key_fingerprint: key.fingerprint,
    signer,
    signature: options.signature.toString("base64"),
    verified_at: options.verifiedAt ?? new Date().toISOString(),
  };
}

/**
 * A stored record, checked again: its key, fingerprint and signature must still verify against
 * `digest`. Returns undefined (and says why through `onInvalid`) when they do not.
 */
export function readSignatureRecord(
  json: string,
  digest: string,
  onInvalid: (reason: string) => void = () => undefined,
): SignatureRecord | undefined {
  let data: Partial<Record<keyof SignatureRecord, unknown>>;
  try {
    data = JSON.parse(json) as typeof data;
  } catch {
    onInvalid("not valid JSON");
    return undefined;
  }
  if (
    data === null ||
    typeof data !== "object" ||
    data.format !== "ostrom-ed25519-v1" ||
    data.digest !== digest ||
    typeof data.public_key !== "string" ||
    typeof data.signature !== "string" ||
    typeof data.verified_at !== "string" ||
    (data.signer !== null && typeof data.signer !== "string")
  ) {
    onInvalid("malformed or for another file");
    return undefined;
  }
  try {
    const key = readSignerKey(data.public_key);
    const signature = readSignatureBytes(Buffer.from(data.signature, "ascii"));
    if (key.fingerprint !== data.key_fingerprint || !isValidModelSignature(digest, signature, key.key)) {
      onInvalid("the signature no longer verifies");
      return undefined;
    }
    return {
      format: "ostrom-ed25519-v1",
      digest,
      public_key: key.pem,
      key_fingerprint: key.fingerprint,
      signer: data.signer ?? null,
      signature: data.signature,
      verified_at: data.verified_at,
    };
  } catch (error) {
    onInvalid((error as Error).message);
    return undefined;
  }
}

/** The signer as a provenance fact (source `signature`, dated when it was verified). */
export function getSignatureFacts(record: SignatureRecord): ProvenanceFacts {
  const value: SignerValue = {
    algorithm: "ed25519",
    keyFingerprint: record.key_fingerprint,
    name: record.signer,
  };
  return { signer: { value, source: "signature", url: null, date: record.verified_at } };
}

function readSshEd25519(base64: string): { kty: "OKP"; crv: "Ed25519"; x: string } {
  const blob = Buffer.from(base64, "base64");
  let offset = 0;
  const readField = (): Buffer => {
    if (offset + 4 > blob.length) throw new Error("truncated OpenSSH key");
    const length = blob.readUInt32BE(offset);
    offset += 4;
    if (offset + length > blob.length) throw new Error("truncated OpenSSH key");
    const field = blob.subarray(offset, offset + length);
    offset += length;
    return field;
  };
  if (readField().toString("ascii") !== "ssh-ed25519") throw new Error("not an ssh-ed25519 key");
  const raw = readField();
  if (raw.length !== 32 || offset !== blob.length) throw new Error("malformed ssh-ed25519 key");
  return { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") };
}

function fail(message: string, param: string): never {
  throw new OstromError("signature_invalid", message, { param });
}
