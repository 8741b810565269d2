import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runCliCommand } from "../../../test/helpers/run-cli-command.ts";
import { isOstromError } from "../../errors.ts";
import { getUsageJournalDirectory } from "../../runtime/open-tenancy.ts";
import { UsageLog } from "../../tenancy/usage-log.ts";
import { openTenancyDatabase } from "./tenancy-flags.ts";
import { usageCommand } from "./usage-command.ts";

test("ostrom usage prints a table of recorded usage per bucket and group", async () => {
  const directory = await mkdtemp(path.join(tmpdir(), "ostrom-usage-cli-"));
  try {
    const dataDir = path.join(directory, "data");
    const run = (flags: Record<string, string | boolean> = {}) =>
      runCliCommand(usageCommand, dataDir, [], flags);
    assert.match((await run()).stdout, /^No requests recorded/);
    const at = new Date(Date.now() - 3_600_000).toISOString();
    // A server's log whose records are still in its journal, not yet in the database: the command
    // reads the journals too.
    using database = openTenancyDatabase({ dataDir });
    const log = UsageLog.open(database, {
      journalDirectory: getUsageJournalDirectory({ dataDir }),
      flushIntervalMs: 600_000,
    });
    try {
      for (const [index, outcome] of (["ok", "ok", "rejected"] as const).entries())
        log.record({
          requestId: `r${index}`,
          at,
          organizationId: "city",
          teamId: "parks",
          apiKeyId: "key_0000000a",
          keyName: "gardener",
          model: "tiny",
          backend: "local",
          endpoint: "chat",
          promptTokens: outcome === "ok" ? 12 : 0,
          completionTokens: outcome === "ok" ? 8 : 0,
          queueWaitMs: 0,
          timeToFirstTokenMs: null,
          durationMs: outcome === "ok" ? 200 + index * 100 : 0,
          outcome,
          errorCode: outcome === "ok" ? null : "quota_exceeded",
        });
      assert.equal(database.prepare("SELECT 1 FROM usage_log").get(), undefined, "all still in the journal");
      const table = await run({ since: "7d", bucket: "day" });
      assert.equal(table.code, 0);
      assert.match(
        table.stdout,
        /^DAY\s+KEY\s+REQUESTS\s+PROMPT\s+COMPLETION\s+REJECTED\s+FAILED\s+MEAN MS\s+P95 MS$/m,
      );
      assert.match(table.stdout, /gardener \(key_0000000a\)\s+3\s+24\s+16\s+1\s+0\s+250\s+300$/m);
      const byModel = await run({ by: "model", bucket: "hour" });
      assert.match(byModel.stdout, /^\d{4}-\d{2}-\d{2} \d{2}:00\s+tiny\s+3\s/m);
      const json = JSON.parse((await run({ by: "team", json: true })).stdout) as {
        group: string;
        requests: number;
      }[];
      assert.deepEqual(
        json.map((row) => [row.group, row.requests]),
        [["city/parks", 3]],
      );
      await assert.rejects(
        run({ by: "user" }),
        (error) => isOstromError(error, "invalid_parameter") && error.param === "by",
      );
      await assert.rejects(run({ since: "last week" }), (error) => isOstromError(error, "invalid_parameter"));
    } finally {
      log.close();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
