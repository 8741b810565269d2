import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { createTempDir, getTinyModelPath } from "../../test/helpers/test-models.ts";
import { isOstromError } from "../errors.ts";
import { readSignerKey, signModelDigest } from "../provenance/model-signature.ts";
import { ProvenanceOverlayStore } from "../provenance/provenance-overlay-store.ts";
import { silentLogger } from "../util/logger.ts";
import { ModelProvenanceService } from "./model-provenance-service.ts";
import { openStore } from "./open-store.ts";
import { prepareSignatureCheck } from "./prepare-signature-check.ts";

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
const fingerprint = readSignerKey(publicPem).fingerprint;

async function setUp(policy: object) {
  const dataDir = await createTempDir("ostrom-provenance-service-");
  const policyFile = path.join(dataDir, "policy.json");
  await writeFile(policyFile, JSON.stringify(policy));
  const keyFile = path.join(dataDir, "key.pem");
  await writeFile(keyFile, publicPem);
  const config = { dataDir, policyFile };
  const service = await ModelProvenanceService.create(config, silentLogger);
  return { dataDir, config, keyFile, service, store: await openStore(config) };
}

test("requireSignature with a trusted key: unsigned refused, signed by that key served with the signer recorded", async () => {
  const { dataDir, config, keyFile, service, store } = await setUp({ requireSignature: [fingerprint] });
  const unsigned = await store.importFile(await getTinyModelPath(), { name: "unsigned" });
  const refusal = await service.getPolicyResult(unsigned);
  assert.equal(refusal.servable, false);
  assert.equal(refusal.failures[0]?.rule, "requireSignature");
  await assert.rejects(service.assertServable(unsigned), (error: unknown) =>
    isOstromError(error, "policy_violation"),
  );

  // The file is already in the store (same digest): signing it is importing it again with a signature.
  const signatureFile = path.join(dataDir, "tiny.sig");
  await writeFile(signatureFile, signModelDigest(unsigned.digest, privateKey).toString("base64"));
  const check = await prepareSignatureCheck(config, {
    signatureFile,
    publicKeyFile: keyFile,
    signer: "Release team",
    modelName: "signed",
  });
  const signed = await store.importFile(await getTinyModelPath(), {
    name: "signed",
    verifyDigest: check.verifyDigest,
  });
  const provenance = await service.describe(signed);
  assert.deepEqual(provenance.record.signer?.value, {
    algorithm: "ed25519",
    keyFingerprint: fingerprint,
    name: "Release team",
  });
  assert.equal(provenance.record.signer?.source, "signature");
  assert.deepEqual(await service.getPolicyResult(signed), { servable: true, failures: [] });
  await service.assertServable(signed);
});

test("a bad signature refuses the import and leaves nothing behind", async () => {
  const { dataDir, config, keyFile, store } = await setUp({});
  const signatureFile = path.join(dataDir, "wrong.sig");
  await writeFile(signatureFile, signModelDigest(`sha256:${"0".repeat(64)}`, privateKey));
  const check = await prepareSignatureCheck(config, {
    signatureFile,
    publicKeyFile: keyFile,
    modelName: "bad",
  });
  await assert.rejects(
    store.importFile(await getTinyModelPath(), { name: "bad", verifyDigest: check.verifyDigest }),
    (error: unknown) => isOstromError(error, "signature_invalid") && /does not verify/.test(error.message),
  );
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(await readdir(store.blobsDir), []);
  assert.deepEqual(await readdir(store.tmpDir), []);
  const overlays = new ProvenanceOverlayStore(dataDir);
  assert.equal(await overlays.readSignature(`sha256:${"0".repeat(64)}`), undefined);
});

test("a signature record edited after the fact no longer counts", async () => {
  const { dataDir, config, keyFile, service, store } = await setUp({ requireSignature: true });
  const model = await getTinyModelPath();
  const probe = await store.importFile(model, { name: "probe" });
  const signatureFile = path.join(dataDir, "tiny.sig");
  await writeFile(signatureFile, signModelDigest(probe.digest, privateKey));
  const check = await prepareSignatureCheck(config, {
    signatureFile,
    publicKeyFile: keyFile,
    modelName: "m",
  });
  const entry = await store.importFile(model, { name: "m", verifyDigest: check.verifyDigest });
  assert.equal((await service.getPolicyResult(entry)).servable, true);

  const overlays = new ProvenanceOverlayStore(dataDir);
  const record = await overlays.readSignature(entry.digest);
  await writeFile(
    overlays.signaturePath(entry.digest),
    JSON.stringify({ ...record, signer: "Someone else", key_fingerprint: `sha256:${"f".repeat(64)}` }),
  );
  const result = await service.getPolicyResult(entry);
  assert.equal(result.servable, false, "the forged record is ignored; the file counts as unsigned");
});
