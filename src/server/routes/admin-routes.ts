// Tenant administration and accounting over HTTP, mounted under `/v1`: organisations and teams, API
// keys (the full key is in the creation response only), usage summaries and `/me`. Thin: validates
// snake_case JSON, calls the TenantDirectory or UsageLog, maps the result. Every handler requires an
// admin key except `/usage` (a member sees only their own key's usage) and `/me`. The principal is
// set by the authentication middleware before these routes run.
import { Hono } from "hono";
import { z } from "zod";
import { parseBody } from "../../api/openai/parse-body.ts";
import { invalidParameter } from "../../errors.ts";
import type { QuotaLimits } from "../../scheduler/quota-ledger.ts";
import type {
  ApiKeyRecord,
  Organization,
  QuotaLimitsPatch,
  Team,
  TenantDirectory,
} from "../../tenancy/tenant-directory.ts";
import { maxWeight, roles } from "../../tenancy/tenant-directory.ts";
import {
  parseUsageTime,
  type UsageLog,
  type UsageSummaryRow,
  usageBuckets,
  usageGroupings,
} from "../../tenancy/usage-log.ts";
import { type AppEnv, assertAdmin, getPrincipal } from "../app-env.ts";
import { readJsonBody } from "../read-json-body.ts";

export interface AdminRoutesDeps {
  directory: TenantDirectory;
  usageLog: UsageLog;
  /** Default: the current time; the reference for relative `since`/`until` and their defaults. */
  now?: () => Date;
}

const limit = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional();
const limitsSchema = z.strictObject({
  tokens_per_minute: limit,
  tokens_per_day: limit,
  concurrent_requests: limit,
});
const weight = z.number().positive().max(maxWeight);
const createTenantSchema = z.strictObject({
  name: z.string(),
  weight: weight.optional(),
  limits: limitsSchema.optional(),
});
const updateTenantSchema = z.strictObject({
  name: z.string().optional(),
  weight: weight.optional(),
  limits: limitsSchema.optional(),
});
const createKeySchema = z.strictObject({
  organization: z.string().min(1),
  team: z.string().min(1),
  name: z.string(),
  role: z.enum(roles),
  limits: limitsSchema.optional(),
});

type LimitsJson = z.infer<typeof limitsSchema>;

export function createAdminRoutes(deps: AdminRoutesDeps): Hono<AppEnv> {
  const { directory, usageLog } = deps;
  const now = deps.now ?? (() => new Date());
  const app = new Hono<AppEnv>();

  app.get("/admin/organizations", (c) => {
    assertAdmin(getPrincipal(c));
    return c.json({ data: directory.listOrganizations().map(toOrganizationJson) });
  });

  app.post("/admin/organizations", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(createTenantSchema, await readJsonBody(c));
    const organization = directory.createOrganization({
      name: body.name,
      ...(body.weight === undefined ? {} : { weight: body.weight }),
      limits: toLimits(body.limits),
    });
    return c.json(toOrganizationJson(organization), 201);
  });

  app.get("/admin/organizations/:id", (c) => {
    assertAdmin(getPrincipal(c));
    return c.json(toOrganizationJson(directory.getOrganization(c.req.param("id"))));
  });

  app.patch("/admin/organizations/:id", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(updateTenantSchema, await readJsonBody(c));
    const organization = directory.updateOrganization(c.req.param("id"), toUpdate(body));
    return c.json(toOrganizationJson(organization));
  });

  app.post("/admin/organizations/:id/teams", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(createTenantSchema, await readJsonBody(c));
    const team = directory.createTeam(c.req.param("id"), {
      name: body.name,
      ...(body.weight === undefined ? {} : { weight: body.weight }),
      limits: toLimits(body.limits),
    });
    return c.json(toTeamJson(team), 201);
  });

  app.patch("/admin/organizations/:org/teams/:team", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(updateTenantSchema, await readJsonBody(c));
    const team = directory.updateTeam(c.req.param("org"), c.req.param("team"), toUpdate(body));
    return c.json(toTeamJson(team));
  });

  app.get("/admin/keys", (c) => {
    assertAdmin(getPrincipal(c));
    return c.json({ data: directory.listApiKeys().map(toApiKeyJson) });
  });

  app.post("/admin/keys", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(createKeySchema, await readJsonBody(c));
    // The first key closes the open server: were it a member key, nobody could administer it over HTTP.
    if (!directory.isEnforced() && body.role !== "admin")
      throw invalidParameter(
        "role",
        "The first key must be an admin key: once any key exists every request needs one, and without an admin key the server could no longer be administered over HTTP.",
      );
    const created = directory.createApiKey({
      organizationId: body.organization,
      teamId: body.team,
      name: body.name,
      role: body.role,
      limits: toLimits(body.limits),
    });
    return c.json({ ...toApiKeyJson(created.record), key: created.key }, 201);
  });

  app.delete("/admin/keys/:id", (c) => {
    assertAdmin(getPrincipal(c));
    return c.json(toApiKeyJson(directory.revokeApiKey(c.req.param("id"))));
  });

  app.get("/usage", (c) => {
    const principal = getPrincipal(c);
    const query = c.req.query();
    const reference = now();
    const until = query.until === undefined ? reference : parseUsageTime(query.until, reference, "until");
    const since =
      query.since === undefined
        ? new Date(until.getTime() - 86_400_000)
        : parseUsageTime(query.since, reference, "since");
    const bucket = parseChoice(query.bucket ?? "hour", usageBuckets, "bucket");
    const groupBy = parseChoice(query.group_by ?? "key", usageGroupings, "group_by");
    // A member sees only their own key, whatever they ask for.
    const apiKeyId = principal.role === "admin" ? query.api_key_id : principal.path.apiKeyId;
    const rows = usageLog.summarize({
      since,
      until,
      bucket,
      groupBy,
      ...(apiKeyId === undefined ? {} : { apiKeyId }),
    });
    return c.json({
      since: since.toISOString(),
      until: until.toISOString(),
      bucket,
      group_by: groupBy,
      data: rows.map(toUsageJson),
    });
  });

  app.get("/me", (c) => {
    const principal = getPrincipal(c);
    return c.json({
      key_id: principal.path.apiKeyId,
      key_name: principal.keyName,
      role: principal.role,
      organization: principal.path.organizationId,
      team: principal.path.teamId,
      authenticated: principal.authenticated,
    });
  });

  return app;
}

function parseChoice<Choice extends string>(
  value: string,
  choices: readonly Choice[],
  param: string,
): Choice {
  if ((choices as readonly string[]).includes(value)) return value as Choice;
  throw invalidParameter(param, `Invalid ${param} "${value}": use ${choices.join(", ")}.`);
}

function toLimits(json: LimitsJson | undefined): QuotaLimits {
  const limits: QuotaLimits = {};
  if (json?.tokens_per_minute != null) limits.tokensPerMinute = json.tokens_per_minute;
  if (json?.tokens_per_day != null) limits.tokensPerDay = json.tokens_per_day;
  if (json?.concurrent_requests != null) limits.concurrentRequests = json.concurrent_requests;
  return limits;
}

function toUpdate(body: z.infer<typeof updateTenantSchema>) {
  const limits: QuotaLimitsPatch = {};
  if (body.limits?.tokens_per_minute !== undefined) limits.tokensPerMinute = body.limits.tokens_per_minute;
  if (body.limits?.tokens_per_day !== undefined) limits.tokensPerDay = body.limits.tokens_per_day;
  if (body.limits?.concurrent_requests !== undefined)
    limits.concurrentRequests = body.limits.concurrent_requests;
  return {
    ...(body.name === undefined ? {} : { name: body.name }),
    ...(body.weight === undefined ? {} : { weight: body.weight }),
    limits,
  };
}

function toLimitsJson(limits: QuotaLimits) {
  return {
    tokens_per_minute: limits.tokensPerMinute ?? null,
    tokens_per_day: limits.tokensPerDay ?? null,
    concurrent_requests: limits.concurrentRequests ?? null,
  };
}

function toTeamJson(team: Team) {
  return {
    id: team.id,
    organization: team.organizationId,
    name: team.name,
    weight: team.weight,
    limits: toLimitsJson(team.limits),
    created_at: team.createdAt,
  };
}

function toOrganizationJson(organization: Organization) {
  return {
    id: organization.id,
    name: organization.name,
    weight: organization.weight,
    limits: toLimitsJson(organization.limits),
    created_at: organization.createdAt,
    teams: organization.teams.map(toTeamJson),
  };
}

function toApiKeyJson(record: ApiKeyRecord) {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    role: record.role,
    organization: record.organizationId,
    team: record.teamId,
    limits: toLimitsJson(record.limits),
    created_at: record.createdAt,
    revoked_at: record.revokedAt,
    last_used_at: record.lastUsedAt,
  };
}

function toUsageJson(row: UsageSummaryRow) {
  return {
    bucket_start: row.bucketStart,
    group: row.group,
    label: row.label,
    requests: row.requests,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    rejected: row.rejected,
    failed: row.failed,
    mean_latency_ms: row.meanLatencyMs,
    p95_latency_ms: row.p95LatencyMs,
    mean_time_to_first_token_ms: row.meanTimeToFirstTokenMs,
  };
}
