import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Hono } from "hono";
import { OstromError } from "../../errors.ts";
import { openSqliteDatabase } from "../../storage/sqlite/open-sqlite-database.ts";
import { localPrincipal } from "../../tenancy/principal.ts";
import { TenantDirectory } from "../../tenancy/tenant-directory.ts";
import { UsageLog } from "../../tenancy/usage-log.ts";
import { silentLogger } from "../../util/logger.ts";
import type { AppEnv } from "../app-env.ts";
import { toErrorResponse } from "../error-response.ts";
import { createAdminRoutes } from "./admin-routes.ts";

/** A stand-in for the server's auth middleware: a bearer key is authenticated, no header is the local user. */
function createTestApp(directory: TenantDirectory, usageLog: UsageLog) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) c.set("principal", localPrincipal);
    else {
      const principal = directory.authenticate(header.replace(/^Bearer /, ""));
      if (!principal) throw new OstromError("unauthorized", "bad key");
      c.set("principal", principal);
    }
    await next();
  });
  app.route("/v1", createAdminRoutes({ directory, usageLog, now: () => new Date("2025-03-01T12:00:00Z") }));
  app.onError((error) => toErrorResponse(error, silentLogger));
  return app;
}

async function withApp(
  work: (app: Hono<AppEnv>, database: ReturnType<typeof openSqliteDatabase>) => Promise<void>,
) {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-admin-"));
  const database = openSqliteDatabase(path.join(folder, "ostrom.db"));
  try {
    await work(createTestApp(TenantDirectory.open(database), UsageLog.open(database)), database);
  } finally {
    database.close();
    await rm(folder, { recursive: true, force: true });
  }
}

type Json = Record<string, unknown> & { error?: { code: string; param: string | null } };

async function call(app: Hono<AppEnv>, method: string, url: string, body?: unknown, key?: string) {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  const response = await app.request(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Json };
}

test("admin API: organisations, teams and keys, with precise errors", async () => {
  await withApp(async (app) => {
    const org = await call(app, "POST", "/v1/admin/organizations", {
      name: "City Hall",
      weight: 2,
      limits: { tokens_per_day: 100000 },
    });
    assert.equal(org.status, 201);
    assert.deepEqual(
      { ...org.json, created_at: undefined },
      {
        id: "city-hall",
        name: "City Hall",
        weight: 2,
        limits: { tokens_per_minute: null, tokens_per_day: 100000, concurrent_requests: null },
        created_at: undefined,
        teams: [],
      },
    );
    const duplicate = await call(app, "POST", "/v1/admin/organizations", { name: "city-hall" });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.json.error?.code, "organization_exists");
    for (const [body, param] of [
      [{ name: "X", weight: 0 }, "weight"],
      [{ name: "X", limits: { tokens_per_minute: -1 } }, "limits.tokens_per_minute"],
      [{ name: "X", limits: { tokens_per_minut: 5 } }, "limits"],
      [{ weight: 1 }, "name"],
      [{ name: "   " }, "name"],
    ] as const) {
      const bad = await call(app, "POST", "/v1/admin/organizations", body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.json.error?.code, "invalid_parameter");
      assert.equal(bad.json.error?.param, param, JSON.stringify(bad.json));
    }
    assert.equal((await call(app, "POST", "/v1/admin/organizations", "{")).json.error?.code, "invalid_json");

    const team = await call(app, "POST", "/v1/admin/organizations/city-hall/teams", {
      name: "Parks",
      limits: { concurrent_requests: 4 },
    });
    assert.equal(team.status, 201);
    assert.equal(team.json.id, "parks");
    const missingOrg = await call(app, "POST", "/v1/admin/organizations/harbour/teams", { name: "Docks" });
    assert.deepEqual([missingOrg.status, missingOrg.json.error?.code], [404, "organization_not_found"]);
    const patched = await call(app, "PATCH", "/v1/admin/organizations/city-hall/teams/parks", {
      weight: 3,
      limits: { concurrent_requests: null, tokens_per_minute: 500 },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json.limits, {
      tokens_per_minute: 500,
      tokens_per_day: null,
      concurrent_requests: null,
    });
    assert.equal(patched.json.weight, 3);
    const missingTeam = await call(app, "PATCH", "/v1/admin/organizations/city-hall/teams/zoo", {
      weight: 1,
    });
    assert.deepEqual([missingTeam.status, missingTeam.json.error?.code], [404, "team_not_found"]);
    const orgPatch = await call(app, "PATCH", "/v1/admin/organizations/city-hall", {
      name: "City Hall East",
    });
    assert.deepEqual(
      [orgPatch.json.id, orgPatch.json.name, orgPatch.json.weight],
      ["city-hall", "City Hall East", 2],
    );

    const listed = await call(app, "GET", "/v1/admin/organizations");
    const organizations = listed.json.data as { id: string; teams: { id: string; weight: number }[] }[];
    assert.deepEqual(
      organizations.map((organization) => [organization.id, organization.teams.map((t) => [t.id, t.weight])]),
      [["city-hall", [["parks", 3]]]],
    );

    // While no key exists, the first must be an admin key (a member key would lock admins out).
    const memberFirst = await call(app, "POST", "/v1/admin/keys", {
      organization: "city-hall",
      team: "parks",
      name: "gardener",
      role: "member",
    });
    assert.equal(memberFirst.status, 400);
    assert.equal((memberFirst.json.error as { param: string }).param, "role");
    const firstAdmin = await call(app, "POST", "/v1/admin/keys", {
      organization: "city-hall",
      team: "parks",
      name: "head gardener",
      role: "admin",
    });
    assert.equal(firstAdmin.status, 201);

    const created = await call(app, "POST", "/v1/admin/keys", {
      organization: "city-hall",
      team: "parks",
      name: "gardener",
      role: "member",
    });
    assert.equal(created.status, 201);
    const key = created.json.key as string;
    assert.match(key, /^osk_key_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.json.prefix, `osk_${created.json.id}`);
    assert.equal(created.json.revoked_at, null);
    const badRole = await call(app, "POST", "/v1/admin/keys", {
      organization: "city-hall",
      team: "parks",
      name: "x",
      role: "owner",
    });
    assert.deepEqual([badRole.status, badRole.json.error?.param], [400, "role"]);
    const badTeam = await call(app, "POST", "/v1/admin/keys", {
      organization: "city-hall",
      team: "zoo",
      name: "x",
      role: "admin",
    });
    assert.deepEqual([badTeam.status, badTeam.json.error?.code], [404, "team_not_found"]);

    const keys = await call(app, "GET", "/v1/admin/keys");
    const keyList = keys.json.data as Record<string, unknown>[];
    assert.equal(keyList.length, 2, "refused creations left no key behind (the first admin and the member)");
    assert.ok(!JSON.stringify(keys.json).includes(key.slice(-43)), "listing never shows the secret");
    assert.ok(keyList.every((listed) => listed.key === undefined));

    // The member key may read /me but not administer.
    const me = await call(app, "GET", "/v1/me", undefined, key);
    assert.deepEqual(me.json, {
      key_id: created.json.id,
      key_name: "gardener",
      role: "member",
      organization: "city-hall",
      team: "parks",
      authenticated: true,
    });
    for (const [method, url] of [
      ["GET", "/v1/admin/keys"],
      ["GET", "/v1/admin/organizations"],
      ["DELETE", `/v1/admin/keys/${created.json.id}`],
    ] as const) {
      const refused = await call(app, method, url, undefined, key);
      assert.deepEqual([refused.status, refused.json.error?.code], [403, "forbidden"], url);
    }
    const refusedCreate = await call(app, "POST", "/v1/admin/organizations", { name: "Sneaky" }, key);
    assert.equal(refusedCreate.status, 403);

    const revoked = await call(app, "DELETE", `/v1/admin/keys/${created.json.id}`);
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.json.revoked_at, "string");
    assert.equal((await call(app, "GET", "/v1/me", undefined, key)).status, 401, "revoked at once");
    const unknown = await call(app, "DELETE", "/v1/admin/keys/key_ffffffff");
    assert.deepEqual([unknown.status, unknown.json.error?.code], [404, "api_key_not_found"]);

    const local = await call(app, "GET", "/v1/me");
    assert.equal(local.json.authenticated, false);
    assert.equal(local.json.role, "admin");
  });
});

test("usage API: admins see everyone, members only their own key", async () => {
  await withApp(async (app, database) => {
    const directory = TenantDirectory.open(database);
    const log = UsageLog.open(database, {
      journalDirectory: path.join(path.dirname(database.location), "usage-journal"),
    });
    directory.createOrganization({ name: "City" });
    directory.createTeam("city", { name: "Parks" });
    const member = directory.createApiKey({
      organizationId: "city",
      teamId: "parks",
      name: "m",
      role: "member",
    });
    const admin = directory.createApiKey({
      organizationId: "city",
      teamId: "parks",
      name: "a",
      role: "admin",
    });
    let id = 0;
    for (const [record, minutes] of [
      [member.record, 30],
      [member.record, 90],
      [admin.record, 30],
    ] as const)
      log.record({
        requestId: `r${id++}`,
        at: new Date(Date.parse("2025-03-01T12:00:00Z") - minutes * 60_000).toISOString(),
        organizationId: "city",
        teamId: "parks",
        apiKeyId: record.id,
        keyName: record.name,
        model: "tiny",
        backend: "local",
        endpoint: "chat",
        promptTokens: 10,
        completionTokens: 2,
        queueWaitMs: 0,
        timeToFirstTokenMs: 5,
        durationMs: 40,
        outcome: "ok",
        errorCode: null,
      });

    log.close(); // into the database, where the route's own log reads them

    const all = await call(app, "GET", "/v1/usage?since=2h&bucket=hour&group_by=key", undefined, admin.key);
    assert.equal(all.status, 200);
    assert.equal(all.json.since, "2025-03-01T10:00:00.000Z");
    assert.deepEqual(
      (all.json.data as { bucket_start: string; label: string; requests: number }[])
        .map((row) => [row.bucket_start, row.label, row.requests])
        .sort(), // key ids are random: order the rows of a bucket by name
      [
        ["2025-03-01T10:00:00.000Z", "m", 1],
        ["2025-03-01T11:00:00.000Z", "a", 1],
        ["2025-03-01T11:00:00.000Z", "m", 1],
      ],
    );
    const own = await call(
      app,
      "GET",
      `/v1/usage?since=2h&bucket=day&group_by=team&api_key_id=${admin.record.id}`,
      undefined,
      member.key,
    );
    assert.deepEqual(
      (own.json.data as { group: string; requests: number; prompt_tokens: number }[]).map((row) => [
        row.group,
        row.requests,
        row.prompt_tokens,
      ]),
      [["city/parks", 2, 20]],
      "a member sees only their own key even when asking for another",
    );
    const defaults = await call(app, "GET", "/v1/usage", undefined, admin.key);
    assert.deepEqual(
      [defaults.json.bucket, defaults.json.group_by, defaults.json.since],
      ["hour", "key", "2025-02-28T12:00:00.000Z"],
    );
    for (const [query, param] of [
      ["bucket=week", "bucket"],
      ["group_by=user", "group_by"],
      ["since=yesterday", "since"],
      ["since=1h&until=2h", "since"],
    ] as const) {
      const bad = await call(app, "GET", `/v1/usage?${query}`, undefined, admin.key);
      assert.deepEqual([bad.status, bad.json.error?.param], [400, param], query);
    }
  });
});
