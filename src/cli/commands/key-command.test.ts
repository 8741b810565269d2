import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runCliCommand } from "../../../test/helpers/run-cli-command.ts";
import { isOstromError } from "../../errors.ts";
import { TenantDirectory } from "../../tenancy/tenant-directory.ts";
import { keyCommand } from "./key-command.ts";
import { openTenancyDatabase } from "./tenancy-flags.ts";
import { tenantCommand } from "./tenant-command.ts";

test("ostrom key create prints the key once; list and revoke; the server's database sees it", async () => {
  const directory = await mkdtemp(path.join(tmpdir(), "ostrom-key-cli-"));
  try {
    const dataDir = path.join(directory, "data");
    const run = (positionals: string[], flags: Record<string, string | boolean> = {}) =>
      runCliCommand(keyCommand, dataDir, positionals, flags);
    assert.match((await run(["list"])).stdout, /No API keys: the server is open to this machine only/);
    await runCliCommand(tenantCommand, dataDir, ["add", "City"], { team: "Parks" });

    const created = await run(["create", "city/parks"], { name: "gardener", "tokens-per-minute": "500" });
    assert.equal(created.code, 0);
    const key = created.stdout.trim();
    assert.match(key, /^osk_key_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/, "stdout holds the key alone");
    assert.match(created.stderr, /Created member key key_[0-9a-f]{8} "gardener" for city\/parks/);
    assert.match(created.stderr, /Store it now: it is shown only this once/);
    const id = key.slice(4, 16);

    const config = { dataDir };
    {
      // What a server on the same data directory would do with the key.
      using database = openTenancyDatabase(config);
      const tenants = TenantDirectory.open(database);
      assert.equal(tenants.isEnforced(), true);
      assert.equal(tenants.authenticate(key)?.keyName, "gardener");
    }

    const listed = await run(["list"]);
    assert.match(
      listed.stdout,
      new RegExp(
        `^${id}\\s+gardener\\s+member\\s+city/parks\\s+500/min\\s+(\\S+ \\S+)\\s+(\\S+ \\S+)\\s+active$`,
        "m",
      ),
      "last used when the server authenticated it",
    );
    assert.ok(!listed.stdout.includes(key.slice(-43)), "the secret is never listed");

    assert.equal((await run(["create", "city"], { name: "x" })).code, 2);
    assert.equal((await run(["create", "city/parks"])).code, 2, "--name is required");
    assert.equal((await run(["create", "city/parks"], { name: "x", role: "root" })).code, 2);
    await assert.rejects(run(["create", "city/zoo"], { name: "x" }), (error) =>
      isOstromError(error, "team_not_found"),
    );

    const revoked = await run(["revoke", id]);
    assert.match(revoked.stdout, new RegExp(`Revoked key ${id} "gardener"`));
    assert.match((await run(["list"])).stdout, /revoked \d{4}-\d{2}-\d{2}$/m);
    {
      using database = openTenancyDatabase(config);
      assert.equal(TenantDirectory.open(database).authenticate(key), undefined);
    }
    await assert.rejects(run(["revoke", "key_ffffffff"]), (error) =>
      isOstromError(error, "api_key_not_found"),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
