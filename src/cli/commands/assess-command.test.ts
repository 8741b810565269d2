import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { loadConfig } from "../../config/load-config.ts";
import { isOstromError } from "../../errors.ts";
import { formatMotYaml } from "../../provenance/mot-yaml.ts";
import { createTestMotRecord, fullyOpenComponents } from "../../provenance/test-records.ts";
import { silentLogger } from "../../util/logger.ts";
import { assessCommand } from "./assess-command.ts";

async function runAssess(yaml: string, json: boolean): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), "ostrom-assess-"));
  try {
    const file = path.join(directory, "model.yml");
    await writeFile(file, yaml);
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    const code = await assessCommand.run({
      config: loadConfig({ env: {} }),
      flags: { json },
      positionals: [file],
      log: silentLogger,
      stdout,
      stderr: new PassThrough(),
    });
    assert.equal(code, 0);
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const yaml = formatMotYaml(
  createTestMotRecord({
    name: "Demo-1B",
    licenses: { distribution: "Apache 2.0" },
    components: {
      ...fullyOpenComponents,
      "model-parameters-final": undefined,
      "model-parameters-intermediate": undefined,
    },
  }),
);

test("assess --json prints the MOF class, per-class percentages, OSAID verdict and flags", async () => {
  const report = JSON.parse(await runAssess(yaml, true)) as {
    model: string;
    mofClass: number | null;
    classes: Array<{ percent: number }>;
    osaid: { passes: boolean };
    flags: unknown[];
    components: Array<{ id: string; verdict: string; licenseOrigin: string }>;
  };
  assert.equal(report.model, "Demo-1B");
  assert.equal(report.mofClass, 1);
  assert.deepEqual(
    report.classes.map((progress) => progress.percent),
    [100, 100, 100],
  );
  assert.equal(report.osaid.passes, true); // Apache-2.0 weights and code, datasets released
  assert.deepEqual(report.flags, []);
  const weights = report.components.find((item) => item.id === "model-parameters-final");
  assert.deepEqual([weights?.verdict, weights?.licenseOrigin], ["open-wrong-kind", "distribution"]);
});

test("assess prints a readable report", async () => {
  const text = await runAssess(yaml, false);
  assert.match(text, /^model {12}Demo-1B$/m);
  assert.match(text, /^MOF class {8}Class I \(Open Science\)$/m);
  assert.match(text, /^ {2}Class III \(Open Model\) +100% {2}\(6\/6\)$/m);
  assert.match(text, /^OSAID 1\.0 {8}pass$/m);
  assert.match(text, /^ {2}Model parameters \(Final\) +open\* +Released under Apache-2.0 \(inherited/m);
  assert.match(text, /^warnings$/m);
});

test("assess rejects a malformed record with the bad field's path", async () => {
  await assert.rejects(
    runAssess("framework: {}\nrelease: {}\n", true),
    (error: unknown) => isOstromError(error, "invalid_provenance_record") && error.param === "framework.name",
  );
});
