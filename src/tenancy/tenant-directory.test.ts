import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { QuotaLedger } from "../scheduler/quota-ledger.ts";
import { createTenantPath } from "../scheduler/tenant-path.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "./sqlite-quota-store.ts";
import { slugify, TenantDirectory, type TenantDirectoryOptions } from "./tenant-directory.ts";

function isError(code: string, param?: string) {
  return (error: unknown) =>
    isOstromError(error) && error.code === code && (param === undefined || error.param === param);
}

function openDirectory(now?: () => number) {
  const database = openSqliteDatabase(":memory:");
  return { database, directory: TenantDirectory.open(database, now ? { now } : {}) };
}

test("slugify makes ids from names", () => {
  assert.equal(slugify("Ministère de l'Intérieur"), "ministere-de-l-interieur");
  assert.equal(slugify("  Team  42!! "), "team-42");
  assert.equal(slugify("***"), "");
});

test("organisations and teams: create, list, update, with clear errors and nothing half-written", () => {
  const { database, directory } = openDirectory();
  using _ = database;
  const org = directory.createOrganization({ name: "City Hall", weight: 3, limits: { tokensPerDay: 1000 } });
  assert.equal(org.id, "city-hall");
  assert.equal(org.weight, 3);
  assert.deepEqual(org.limits, { tokensPerDay: 1000 });
  assert.throws(() => directory.createOrganization({ name: "city hall" }), isError("organization_exists"));
  assert.throws(
    () => directory.createOrganization({ name: "B", weight: 0 }),
    isError("invalid_parameter", "weight"),
  );
  assert.throws(
    () => directory.createOrganization({ name: "B", limits: { tokensPerMinute: 1.5 } }),
    isError("invalid_parameter", "limits.tokens_per_minute"),
  );
  assert.throws(() => directory.createOrganization({ name: "!!" }), isError("invalid_parameter", "name"));
  assert.deepEqual(
    directory.listOrganizations().map((organization) => organization.id),
    ["city-hall"],
    "refused creations left nothing behind",
  );

  const team = directory.createTeam("city-hall", { name: "Parks", weight: 2 });
  assert.deepEqual([team.organizationId, team.id, team.weight, team.limits], ["city-hall", "parks", 2, {}]);
  assert.throws(() => directory.createTeam("city-hall", { name: "PARKS" }), isError("team_exists"));
  assert.throws(() => directory.createTeam("nowhere", { name: "Parks" }), isError("organization_not_found"));
  directory.createOrganization({ name: "Harbour" });
  assert.equal(
    directory.createTeam("harbour", { name: "Parks" }).id,
    "parks",
    "team ids are per organisation",
  );

  const updated = directory.updateOrganization("city-hall", {
    weight: 5,
    limits: { tokensPerDay: null, concurrentRequests: 4 },
  });
  assert.equal(updated.weight, 5);
  assert.equal(updated.name, "City Hall");
  assert.deepEqual(updated.limits, { concurrentRequests: 4 });
  assert.deepEqual(
    directory.updateTeam("city-hall", "parks", { name: "Parks & Gardens", limits: { tokensPerMinute: 10 } }),
    { ...team, name: "Parks & Gardens", limits: { tokensPerMinute: 10 } },
  );
  assert.throws(
    () => directory.updateTeam("city-hall", "parks", { weight: Number.NaN }),
    isError("invalid_parameter", "weight"),
  );
  assert.throws(() => directory.updateTeam("city-hall", "zoo", {}), isError("team_not_found"));
  assert.throws(() => directory.updateOrganization("zoo", {}), isError("organization_not_found"));

  const listed = directory.listOrganizations();
  assert.deepEqual(
    listed.map((organization) => [organization.id, organization.teams.map((t) => t.id)]),
    [
      ["city-hall", ["parks"]],
      ["harbour", ["parks"]],
    ],
  );
});

test("API keys: shown once, stored hashed, authenticate with weights, revoke at once", () => {
  let now = Date.parse("2025-01-01T00:00:00Z");
  const { database, directory } = openDirectory(() => now);
  using _ = database;
  directory.createOrganization({ name: "City Hall", weight: 3 });
  directory.createTeam("city-hall", { name: "Parks", weight: 2, limits: { concurrentRequests: 2 } });
  assert.equal(directory.isEnforced(), false);

  const { record, key } = directory.createApiKey({
    organizationId: "city-hall",
    teamId: "parks",
    name: "gardener",
    role: "member",
    limits: { tokensPerMinute: 500 },
  });
  assert.match(record.id, /^key_[0-9a-f]{8}$/);
  assert.match(key, new RegExp(`^osk_${record.id}_[A-Za-z0-9_-]{43}$`));
  assert.equal(record.prefix, `osk_${record.id}`);
  assert.equal(directory.isEnforced(), true, "enforced as soon as a key exists");
  const secret = key.slice(record.prefix.length + 1);
  const stored = JSON.stringify(database.prepare("SELECT * FROM tenant_api_keys").all(), (_key, value) =>
    value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value,
  );
  assert.ok(!stored.includes(secret), "the secret is not stored");

  const principal = directory.authenticate(key);
  assert.deepEqual(principal, {
    path: createTenantPath({
      organizationId: "city-hall",
      organizationWeight: 3,
      teamId: "parks",
      teamWeight: 2,
      apiKeyId: record.id,
    }),
    role: "member",
    keyName: "gardener",
    authenticated: true,
  });
  assert.equal(directory.getApiKey(record.id).lastUsedAt, "2025-01-01T00:00:00.000Z");
  now += 1000;
  directory.authenticate(key);
  assert.equal(directory.getApiKey(record.id).lastUsedAt, "2025-01-01T00:00:00.000Z", "throttled");

  const wrongSecret = `${record.prefix}_${"A".repeat(43)}`;
  for (const bad of [wrongSecret, `osk_key_00000000_${secret}`, key.slice(0, -1), "", `Bearer ${key}`])
    assert.equal(directory.authenticate(bad), undefined, bad);

  assert.deepEqual(directory.getLimits(principal!.path), {
    organization: {},
    team: { concurrentRequests: 2 },
    apiKey: { tokensPerMinute: 500 },
  });
  assert.deepEqual(
    directory.getLimits(createTenantPath({ organizationId: "local", teamId: "local", apiKeyId: "local" })),
    {},
    "open mode's local tenant is unlimited",
  );

  assert.throws(
    () => directory.createApiKey({ organizationId: "city-hall", teamId: "zoo", name: "x", role: "member" }),
    isError("team_not_found"),
  );
  assert.throws(
    () =>
      directory.createApiKey({
        organizationId: "city-hall",
        teamId: "parks",
        name: "x",
        role: "root" as "admin",
      }),
    isError("invalid_parameter", "role"),
  );
  assert.equal(directory.listApiKeys().length, 1);

  const revoked = directory.revokeApiKey(record.id);
  assert.equal(revoked.revokedAt, new Date(now).toISOString());
  assert.equal(directory.authenticate(key), undefined, "a revoked key no longer authenticates");
  assert.equal(directory.isEnforced(), false, "no unrevoked key left");
  now += 5000;
  assert.equal(
    directory.revokeApiKey(record.id).revokedAt,
    revoked.revokedAt,
    "revoking twice changes nothing",
  );
  assert.throws(() => directory.revokeApiKey("key_ffffffff"), isError("api_key_not_found"));
  assert.throws(() => directory.revokeApiKey("nonsense"), isError("api_key_not_found"));
});

/**
 * Two directories over one database file, as a server and a CLI in two processes would have, with a
 * clock the test moves for the server's caches.
 */
async function withTwoProcesses(
  options: Omit<TenantDirectoryOptions, "now">,
  use: (server: TenantDirectory, cli: TenantDirectory, advance: (ms: number) => void) => void,
): Promise<void> {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-tenancy-"));
  try {
    const file = path.join(folder, "ostrom.db");
    let now = 0;
    using serverDatabase = openSqliteDatabase(file);
    using cliDatabase = openSqliteDatabase(file);
    const server = TenantDirectory.open(serverDatabase, { ...options, now: () => now });
    use(server, TenantDirectory.open(cliDatabase), (ms) => {
      now += ms;
    });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

test("isEnforced notices keys created by another process within its cache time", async () => {
  await withTwoProcesses({ keyCountTtlMs: 1000 }, (server, cli, advance) => {
    assert.equal(server.isEnforced(), false);
    cli.createOrganization({ name: "o" });
    cli.createTeam("o", { name: "t" });
    const { key } = cli.createApiKey({ organizationId: "o", teamId: "t", name: "k", role: "admin" });
    assert.equal(server.isEnforced(), false, "cached");
    advance(1000);
    assert.equal(server.isEnforced(), true);
    assert.equal(server.authenticate(key)?.role, "admin", "authentication always reads the database");
  });
});

test("getLimits is cached, yet every change through the directory holds for the next reservation", async () => {
  const { database, directory } = openDirectory();
  using _ = database;
  const ledger = new QuotaLedger({
    store: SqliteQuotaStore.open(database),
    getLimits: (tenantPath) => directory.getLimits(tenantPath),
  });
  try {
    directory.createOrganization({ name: "City" });
    directory.createTeam("city", { name: "Parks" });
    const { record, key } = directory.createApiKey({
      organizationId: "city",
      teamId: "parks",
      name: "k",
      role: "member",
    });
    const keyPath = directory.authenticate(key)!.path;
    const reserveAndSettle = async () => ledger.settle(await ledger.reserve(keyPath, 100), 0);
    await reserveAndSettle();
    assert.equal(directory.getLimits(keyPath), directory.getLimits(keyPath), "read once, then cached");
    assert.throws(() => {
      (directory.getLimits(keyPath) as { team?: object }).team = {};
    }, TypeError);

    directory.updateTeam("city", "parks", { limits: { tokensPerMinute: 50 } });
    await assert.rejects(reserveAndSettle(), isError("quota_exceeded"), "a team limit added later holds");
    directory.updateTeam("city", "parks", { limits: { tokensPerMinute: null } });
    await reserveAndSettle();
    directory.updateOrganization("city", { limits: { concurrentRequests: 0 } });
    await assert.rejects(reserveAndSettle(), isError("quota_exceeded"), "so does an organisation limit");
    directory.updateOrganization("city", { weight: 2, limits: { concurrentRequests: null } });
    await reserveAndSettle();

    const limited = directory.createApiKey({
      organizationId: "city",
      teamId: "parks",
      name: "small",
      role: "member",
      limits: { tokensPerDay: 10 },
    });
    const limitedPath = directory.authenticate(limited.key)!.path;
    await assert.rejects(ledger.reserve(limitedPath, 100), isError("quota_exceeded"));

    const before = directory.getLimits(keyPath);
    directory.revokeApiKey(record.id);
    assert.notEqual(directory.getLimits(keyPath), before, "revoking reads the limits again");
    directory.createTeam("city", { name: "Woods", limits: { tokensPerDay: 5 } });
    const moved = createTenantPath({ organizationId: "city", teamId: "woods", apiKeyId: record.id });
    assert.deepEqual(
      directory.getLimits(moved),
      { organization: {}, team: { tokensPerDay: 5 } },
      "an entry holds only for the team it was read for; a key of another team has no key limits here",
    );
  } finally {
    ledger.close();
  }
});

test("getLimits sees limits changed by another process within limitsTtlMs", async () => {
  await withTwoProcesses({ limitsTtlMs: 1000 }, (server, cli, advance) => {
    cli.createOrganization({ name: "o" });
    cli.createTeam("o", { name: "t" });
    const teamPath = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "key_00000001" });
    assert.deepEqual(server.getLimits(teamPath), { organization: {}, team: {} });
    cli.updateTeam("o", "t", { limits: { tokensPerDay: 7 } });
    assert.deepEqual(server.getLimits(teamPath).team, {}, "cached: the other process's write is not seen");
    advance(999);
    assert.deepEqual(server.getLimits(teamPath).team, {});
    advance(1);
    assert.deepEqual(server.getLimits(teamPath).team, { tokensPerDay: 7 }, "seen once limitsTtlMs passed");
  });
});
