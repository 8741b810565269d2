import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runCliCommand } from "../../../test/helpers/run-cli-command.ts";
import { isOstromError } from "../../errors.ts";
import { tenantCommand } from "./tenant-command.ts";

test("ostrom tenant add creates organisations and teams; ls shows weights and quotas", async () => {
  const directory = await mkdtemp(path.join(tmpdir(), "ostrom-tenant-cli-"));
  try {
    const dataDir = path.join(directory, "data");
    const run = (positionals: string[], flags: Record<string, string | boolean> = {}) =>
      runCliCommand(tenantCommand, dataDir, positionals, flags);
    assert.match((await run(["ls"])).stdout, /No organisations/);

    const org = await run(["add", "City Hall"], { weight: "2", "tokens-per-day": "100000" });
    assert.equal(org.code, 0);
    assert.match(org.stdout, /Created organisation city-hall \(weight 2, 100000\/day\)/);
    const team = await run(["add", "city-hall"], { team: "Parks", concurrent: "4" });
    assert.match(team.stdout, /^Created team city-hall\/parks \(weight 1, 4 at once\)\.\n$/);
    const both = await run(["add", "Harbour"], { team: "Docks", weight: "3" });
    assert.match(
      both.stdout,
      /Created organisation harbour .*\nCreated team harbour\/docks \(weight 3, unlimited\)/,
    );

    await assert.rejects(run(["add", "City Hall"]), (error) => isOstromError(error, "organization_exists"));
    await assert.rejects(
      run(["add", "Airport"], { team: "Gates", weight: "-1" }),
      (error) => isOstromError(error, "invalid_parameter") && error.param === "weight",
    );
    await assert.rejects(
      run(["add", "Airport"], { "tokens-per-minute": "lots" }),
      (error) =>
        isOstromError(error, "invalid_parameter") &&
        /--tokens-per-minute expects a number/.test(error.message),
    );

    const listed = await run(["ls"]);
    assert.doesNotMatch(listed.stdout, /airport/, "a refused team left no organisation behind");
    assert.match(listed.stdout, /^TENANT\s+NAME\s+WEIGHT\s+QUOTAS$/m);
    assert.match(listed.stdout, /^city-hall\s+City Hall\s+2\s+100000\/day$/m);
    assert.match(listed.stdout, /^city-hall\/parks\s+Parks\s+1\s+4 at once$/m);
    assert.match(listed.stdout, /^harbour\/docks\s+Docks\s+3\s+unlimited$/m);
    const json = JSON.parse((await run(["ls"], { json: true })).stdout) as { id: string }[];
    assert.deepEqual(
      json.map((organization) => organization.id),
      ["city-hall", "harbour"],
    );
    assert.equal((await run(["frobnicate"])).code, 2);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
