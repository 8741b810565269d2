// End to end: the provenance commands as an administrator runs them, in child processes over a
// temporary data directory: import with a detached signature (bad ones refused, leaving nothing),
// `declare` (stored, shown by `inspect` with source `declared`, bad files refused naming the field,
// cleared), and `run` refusing a stored model whose file changed on disk.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { open, readdir, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createRandomLlamaGguf } from "../../src/gguf/create-random-llama.ts";
import { signModelDigest } from "../../src/provenance/model-signature.ts";
import { hashFile } from "../../src/util/hash-file.ts";
import { createTempDir } from "../helpers/test-models.ts";

const cliEntry = fileURLToPath(new URL("../../src/cli/ostrom.ts", import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", cliEntry, ...args, "--data-dir", dataDir], {
    env: { ...process.env, OSTROM_THREADS: "1", OSTROM_PULL_ON_START: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

let dataDir: string;
let work: string;
let modelFile: string;
let digest: string;
let sshKeyFile: string;
let signatureFile: string;

before(async () => {
  dataDir = await createTempDir("ostrom-provenance-cli-");
  work = await createTempDir("ostrom-provenance-cli-files-");
  modelFile = path.join(work, "tiny.gguf");
  await createRandomLlamaGguf(modelFile, {
    name: "Signed tiny",
    extraMetadata: [["general.license", { type: "string", value: "other" }]],
  });
  digest = `sha256:${(await hashFile(modelFile)).hex}`;
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  // An OpenSSH public key line; its comment names the signer.
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]);
  sshKeyFile = path.join(work, "release.pub");
  await writeFile(sshKeyFile, `ssh-ed25519 ${blob.toString("base64")} release@example.org\n`);
  signatureFile = path.join(work, "tiny.gguf.sig");
  await writeFile(signatureFile, signModelDigest(digest, privateKey));
});

test("import with a bad signature is refused and leaves nothing in the store", async () => {
  const wrongSignature = path.join(work, "wrong.sig");
  const stranger = generateKeyPairSync("ed25519").privateKey;
  await writeFile(wrongSignature, signModelDigest(digest, stranger));
  const refused = await runCli([
    "import",
    modelFile,
    "--name",
    "tiny",
    "--signature",
    wrongSignature,
    "--public-key",
    sshKeyFile,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ostrom import: The signature does not verify/);
  const listed = await runCli(["ls", "--json"]);
  assert.deepEqual(JSON.parse(listed.stdout), []);
  assert.deepEqual(await readdir(path.join(dataDir, "models", "blobs")), []);

  const missingKey = await runCli(["import", modelFile, "--signature", wrongSignature]);
  assert.equal(missingKey.code, 1);
  assert.match(missingKey.stderr, /--signature needs --public-key/);
});

test("import with a good signature records the signer, shown by inspect with source `signature`", async () => {
  const imported = await runCli([
    "import",
    modelFile,
    "--name",
    "tiny",
    "--signature",
    signatureFile,
    "--public-key",
    sshKeyFile,
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(
    imported.stderr,
    /signature verified: signed by release@example\.org with key sha256:[0-9a-f]{64}/,
  );
  const inspected = await runCli(["inspect", "tiny", "--json"]);
  assert.equal(inspected.code, 0, inspected.stderr);
  const report = JSON.parse(inspected.stdout) as {
    provenance: { signer: { value: { name: string; keyFingerprint: string }; source: string } };
  };
  assert.equal(report.provenance.signer.source, "signature");
  assert.equal(report.provenance.signer.value.name, "release@example.org");
});

test("declare stores an administrator's facts, which inspect shows with source `declared`; --clear removes them", async () => {
  const declaration = path.join(work, "declaration.yml");
  await writeFile(
    declaration,
    [
      "# License confirmed with the producer.",
      "release:",
      "  license:",
      "    distribution: {name: Apache-2.0, path: https://example.org/LICENSE}",
      "  components:",
      "    - {name: Datasets, license: CC-BY-4.0, component_path: https://example.org/data}",
      "x-ostrom:",
      "  datasets: [{name: Example corpus, url: https://example.org/data, license: CC-BY-4.0}]",
      "",
    ].join("\n"),
  );
  const declared = await runCli(["declare", "tiny", declaration]);
  assert.equal(declared.code, 0, declared.stderr);
  assert.match(declared.stdout, /declared for tiny:latest .*license, datasets, component datasets/);

  const inspected = await runCli(["inspect", "tiny", "--json"]);
  const report = JSON.parse(inspected.stdout) as {
    provenance: {
      license: {
        value: { expression: string };
        source: string;
        date: string;
        overridden: Array<{ source: string }>;
      };
      components: { datasets: { source: string } };
    };
  };
  assert.equal(report.provenance.license.source, "declared");
  assert.equal(report.provenance.license.value.expression, "Apache-2.0");
  assert.ok(!Number.isNaN(Date.parse(report.provenance.license.date)));
  assert.equal(report.provenance.license.overridden[0]?.source, "gguf");
  assert.equal(report.provenance.components.datasets.source, "declared");
  const card = await runCli(["inspect", "tiny"]);
  assert.match(
    card.stdout,
    /Sources\n[\s\S]*license\s+Apache-2\.0\s+\[declared, \d{4}-\d{2}-\d{2}[^\]]*overrides gguf/,
  );

  const bad = path.join(work, "bad.yml");
  await writeFile(bad, "release:\n  license:\n    distribution: {name: Apache-2.0, url: https://x}\n");
  const refused = await runCli(["declare", "tiny", bad]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /release\.license\.distribution\.url: unknown field/);
  const unchanged = JSON.parse((await runCli(["inspect", "tiny", "--json"])).stdout) as typeof report;
  assert.equal(unchanged.provenance.license.source, "declared", "a refused declaration changes nothing");

  const cleared = await runCli(["declare", "tiny", "--clear"]);
  assert.equal(cleared.code, 0, cleared.stderr);
  const after = JSON.parse((await runCli(["inspect", "tiny", "--json"])).stdout) as typeof report;
  assert.equal(after.provenance.license.source, "gguf");
});

test("run refuses a stored model whose file changed on disk, before loading it", async () => {
  const listed = JSON.parse((await runCli(["ls", "--json"])).stdout) as Array<{ ref: string; path?: string }>;
  assert.equal(listed[0]?.ref, "tiny:latest");
  const blob = path.join(dataDir, "models", "blobs", `sha256-${digest.slice("sha256:".length)}`);
  const { size, atime, mtime } = await stat(blob);
  const handle = await open(blob, "r+");
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, size - 1);
  byte[0] = byte[0]! ^ 0x01;
  await handle.write(byte, 0, 1, size - 1);
  await handle.close();
  await utimes(blob, atime, new Date(mtime.getTime() + 10_000));
  const result = await runCli(["run", "tiny", "hello", "--max-tokens", "1"]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /ostrom run: Model "tiny:latest" failed its integrity check/);
});
