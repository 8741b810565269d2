import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createTempDir, getTinyModelPath } from "../../../test/helpers/test-models.ts";
import { loadConfig } from "../../config/load-config.ts";
import { ingestContent } from "../../knowledge/ingest-documents.ts";
import { openKnowledgeService } from "../../runtime/open-knowledge-service.ts";
import { openStore } from "../../runtime/open-store.ts";
import { silentLogger } from "../../util/logger.ts";
import { askCommand } from "./ask-command.ts";

test("ostrom ask streams a grounded answer, then the numbered sources with license, attribution and exclusions", async () => {
  const dataDir = await createTempDir("ostrom-ask-");
  const config = loadConfig({
    env: {},
    args: {
      "data-dir": dataDir,
      threads: "1",
      "knowledge-excluded-licenses": "CC-BY-NC-4.0",
      "default-model": "tiny",
    },
  });
  const store = await openStore(config);
  await store.importFile(await getTinyModelPath(), { name: "tiny:latest" });
  {
    using knowledge = openKnowledgeService(config);
    knowledge.store.createKnowledgeBase("handbook");
    for (const [fileName, text, license, attribution] of [
      ["leave.md", "# Parental leave\n\nParental leave lasts sixteen weeks.\n", "CC-BY-4.0", "HR department"],
      ["draft.md", "# Leave draft\n\nParental leave might last twenty weeks.\n", "CC-BY-NC-4.0", "Council"],
    ] as const)
      await ingestContent(
        knowledge.store,
        "handbook",
        { source: fileName, fileName, content: Buffer.from(text) },
        { license, attribution },
      );
  }
  const stdout = new PassThrough();
  const out: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  const code = await askCommand.run({
    config,
    flags: { "max-tokens": "4" },
    positionals: ["handbook", "How long is parental leave?"],
    log: silentLogger,
    stdout,
    stderr: new PassThrough(),
  });
  assert.equal(code, 0);
  const printed = Buffer.concat(out).toString("utf8");
  assert.match(printed, /\nSources:\n\[1\] Parental leave — leave\.md · Parental leave \(score \d/);
  assert.match(printed, /license: CC-BY-4\.0 · HR department/);
  assert.match(
    printed,
    /Left out by the license rule:\n- Leave draft — draft\.md \(license: CC-BY-NC-4\.0 · Council\)/,
  );
  assert.doesNotMatch(printed, /score 0\.00\b/);

  await assert.rejects(
    askCommand.run({
      config,
      flags: {},
      positionals: ["nope", "question"],
      log: silentLogger,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    }),
    /No knowledge base named "nope"/,
  );
});
