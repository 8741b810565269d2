import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import {
  formatSignedMessage,
  getSignatureFacts,
  readSignatureBytes,
  readSignatureRecord,
  readSignerKey,
  signModelDigest,
  verifyModelSignature,
} from "./model-signature.ts";

const digest = `sha256:${createHash("sha256").update("model bytes").digest("hex")}`;
const otherDigest = `sha256:${"0".repeat(64)}`;
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const pem = publicKey.export({ type: "spki", format: "pem" }).toString();

const isSignatureInvalid = (param: string) => (error: unknown) =>
  isOstromError(error, "signature_invalid") && error.param === param && error.status === 400;

test("the signed message is the documented prefix and digest", () => {
  assert.equal(formatSignedMessage(digest).toString("ascii"), `ostrom-model-signature-v1\n${digest}\n`);
  assert.throws(() => formatSignedMessage("sha256:xyz"));
});

test("a signature over the digest verifies and records the signer with the key's fingerprint", () => {
  const key = readSignerKey(pem, "key.pem");
  const der = publicKey.export({ type: "spki", format: "der" });
  assert.equal(key.fingerprint, `sha256:${createHash("sha256").update(der).digest("hex")}`);
  assert.equal(key.name, null);
  const record = verifyModelSignature({
    digest,
    signature: signModelDigest(digest, privateKey),
    key,
    signer: "Release team",
    verifiedAt: "2026-02-03T04:05:06.000Z",
  });
  assert.equal(record.signer, "Release team");
  assert.equal(record.key_fingerprint, key.fingerprint);
  assert.deepEqual(getSignatureFacts(record).signer, {
    value: { algorithm: "ed25519", keyFingerprint: key.fingerprint, name: "Release team" },
    source: "signature",
    url: null,
    date: "2026-02-03T04:05:06.000Z",
  });
});

test("a signature for another digest, or by another key, is refused", () => {
  const key = readSignerKey(pem);
  assert.throws(
    () => verifyModelSignature({ digest, signature: signModelDigest(otherDigest, privateKey), key }),
    isSignatureInvalid("signature"),
  );
  const stranger = generateKeyPairSync("ed25519").privateKey;
  assert.throws(
    () => verifyModelSignature({ digest, signature: signModelDigest(digest, stranger), key }),
    (error: unknown) => isSignatureInvalid("signature")(error) && /Nothing was imported/.test(String(error)),
  );
});

test("OpenSSH public keys are read too, their comment naming the signer", () => {
  const jwk = publicKey.export({ format: "jwk" });
  const raw = Buffer.from(jwk.x!, "base64url");
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]);
  const key = readSignerKey(`ssh-ed25519 ${blob.toString("base64")} alice@example.org\n`);
  assert.equal(key.name, "alice@example.org");
  assert.equal(key.fingerprint, readSignerKey(pem).fingerprint, "same key, same fingerprint");
});

test("malformed keys and signatures are refused with the field named", () => {
  assert.throws(() => readSignerKey("hello"), isSignatureInvalid("public_key"));
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
  assert.throws(
    () => readSignerKey(rsa.export({ type: "spki", format: "pem" }).toString()),
    (error: unknown) => isSignatureInvalid("public_key")(error) && /only ed25519/.test(String(error)),
  );
  assert.throws(() => readSignerKey("ssh-ed25519 AAAA"), isSignatureInvalid("public_key"));
  assert.throws(() => readSignatureBytes(Buffer.from("not a signature")), isSignatureInvalid("signature"));
  const signature = signModelDigest(digest, privateKey);
  assert.deepEqual(readSignatureBytes(signature), signature, "raw bytes");
  assert.deepEqual(readSignatureBytes(Buffer.from(`${signature.toString("base64")}\n`)), signature, "base64");
});

test("a stored record is re-verified when read; an edited one is ignored with the reason", () => {
  const record = verifyModelSignature({
    digest,
    signature: signModelDigest(digest, privateKey),
    key: readSignerKey(pem),
  });
  const json = JSON.stringify(record);
  assert.deepEqual(readSignatureRecord(json, digest), record);
  const reasons: string[] = [];
  const forged = JSON.stringify({
    ...record,
    public_key: generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
  });
  assert.equal(
    readSignatureRecord(forged, digest, (reason) => reasons.push(reason)),
    undefined,
  );
  assert.equal(
    readSignatureRecord(json, otherDigest, (reason) => reasons.push(reason)),
    undefined,
  );
  assert.equal(
    readSignatureRecord("{", digest, (reason) => reasons.push(reason)),
    undefined,
  );
  assert.equal(reasons.length, 3);
});

test("the documented OpenSSL recipe makes signatures Ostrom accepts", async (t) => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
  } catch {
    t.skip("openssl is not installed");
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "ostrom-signature-"));
  const keyFile = path.join(dir, "key.pem");
  await writeFile(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
  const messageFile = path.join(dir, "message");
  await writeFile(messageFile, formatSignedMessage(digest));
  const signatureFile = path.join(dir, "model.gguf.sig");
  execFileSync("openssl", [
    "pkeyutl",
    "-sign",
    "-rawin",
    "-inkey",
    keyFile,
    "-in",
    messageFile,
    "-out",
    signatureFile,
  ]);
  const publicFile = path.join(dir, "public.pem");
  execFileSync("openssl", ["pkey", "-in", keyFile, "-pubout", "-out", publicFile]);
  const record = verifyModelSignature({
    digest,
    signature: readSignatureBytes(await readFile(signatureFile)),
    key: readSignerKey(await readFile(publicFile, "utf8")),
  });
  assert.equal(record.digest, digest);
});
