import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runCliCommand } from "../../../test/helpers/run-cli-command.ts";
import { kbCommand } from "./kb-command.ts";

function runKb(dataDir: string, positionals: string[], flags: Record<string, string | boolean> = {}) {
  return runCliCommand(kbCommand, dataDir, positionals, flags);
}

test("ostrom kb create, add (with per-file errors), ls, search and rm", async () => {
  const directory = await mkdtemp(path.join(tmpdir(), "ostrom-kb-cli-"));
  try {
    const dataDir = path.join(directory, "data");
    const good = path.join(directory, "whales.md");
    const bad = path.join(directory, "broken.pdf");
    await writeFile(good, "# Whales\n\nBlue whales are the largest animals.\n");
    await writeFile(bad, "%PDF-1.4 garbage");
    assert.equal((await runKb(dataDir, ["create", "sea"])).code, 0);

    const added = await runKb(dataDir, ["add", "sea", good, bad], {
      license: "CC0-1.0",
      attribution: "Ocean Lab",
    });
    assert.equal(added.code, 1);
    assert.match(
      added.stdout,
      /sea: 1 added, 0 updated, 0 unchanged, 0 removed documents \(1 chunks\).*1 file failed/,
    );
    assert.match(added.stderr, /error: .*broken\.pdf.*\[document_unparseable\]/);

    const listed = await runKb(dataDir, ["ls"]);
    assert.match(listed.stdout, /^sea\s+1\s+1\s+-/m);
    const documents = await runKb(dataDir, ["ls", "sea"], { json: true });
    assert.equal((JSON.parse(documents.stdout) as { license: string }[])[0]?.license, "CC0-1.0");

    const found = await runKb(dataDir, ["search", "sea", "largest animal"]);
    assert.match(found.stdout, /\[1\] Whales/);
    assert.match(found.stdout, /license: CC0-1\.0 · Ocean Lab/);
    const json = await runKb(dataDir, ["search", "sea", "blue whale"], { json: true });
    const hits = JSON.parse(json.stdout) as {
      title: string;
      license: string;
      attribution: string;
      score: number;
    }[];
    assert.deepEqual(
      hits.map((hit) => [hit.title, hit.license, hit.attribution]),
      [["Whales", "CC0-1.0", "Ocean Lab"]],
    );

    assert.equal((await runKb(dataDir, ["rm", "sea"])).code, 0);
    assert.match((await runKb(dataDir, ["ls"])).stdout, /No knowledge bases/);
    assert.equal((await runKb(dataDir, ["frobnicate"])).code, 2);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
