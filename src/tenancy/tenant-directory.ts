// Organisations → teams → API keys in the SQL database: creating and changing them, authenticating
// bearer keys, and the quota limits of a tenant path for the quota ledger. HTTP-free (routes and the CLI
// call it with plain input); must not depend on the server, the engine or the scheduler's internals.
//
// Keys look like `osk_key_1a2b3c4d_<43 base64url chars>`: the id in the middle is public (it names the
// key in lists, logs and usage), the last part is 32 random bytes shown once at creation. Only the
// SHA-256 of the secret is stored; a slow password hash would buy nothing for 256-bit random secrets and
// would cost every request. Lookup is by id, then the hashes are compared with `timingSafeEqual`.
//
// `getLimits` runs on every quota reservation, so it keeps what it read (three rows per path: ~2 % of a
// proxied request's CPU when read each time, docs/benchmarks.md "Gateway overhead"). What the cache
// means: every write made through this directory that can change limits, weights or membership
// (creating or updating an organisation or team, creating or revoking a key; any delete added later
// must do the same) clears it before returning, so in this process a limit added later holds for every
// request that starts after it. The database may also be written by another process — the CLI beside a
// running server today, other servers on a shared database later — whose writes this process cannot
// see; for those, an entry is trusted for at most `limitsTtlMs` (1 s by default, like the key count of
// `isEnforced`), so their changes hold for every request that starts that long after them.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { invalidParameter, OstromError } from "../errors.ts";
import type { PathQuotaLimits, QuotaLimits } from "../scheduler/quota-ledger.ts";
import {
  type ApiKeyId,
  createTenantPath,
  type OrganizationId,
  type TeamId,
  type TenantPath,
} from "../scheduler/tenant-path.ts";
import type { SqlDatabase } from "../storage/sql-database.ts";
import type { Authenticator, Principal, Role } from "./principal.ts";
import { tenancyMigrations } from "./tenancy-migrations.ts";

export const roles = ["admin", "member"] as const satisfies readonly Role[];
export const quotaKinds = [
  "tokensPerMinute",
  "tokensPerDay",
  "concurrentRequests",
] as const satisfies readonly (keyof QuotaLimits)[];
/** Weights are relative shares; this bound keeps the scheduler's arithmetic far from overflow. */
export const maxWeight = 1_000_000;
export const maxNameLength = 100;

/** A change of limits: a number sets the limit, `null` removes it (unlimited), a missing field keeps it. */
export type QuotaLimitsPatch = { [Kind in keyof QuotaLimits]?: number | null };

export interface Team {
  organizationId: OrganizationId;
  id: TeamId;
  name: string;
  weight: number;
  limits: QuotaLimits;
  createdAt: string;
}

export interface Organization {
  id: OrganizationId;
  name: string;
  weight: number;
  limits: QuotaLimits;
  createdAt: string;
  teams: Team[];
}

export interface ApiKeyRecord {
  id: ApiKeyId;
  name: string;
  role: Role;
  organizationId: OrganizationId;
  teamId: TeamId;
  /** The public start of the key (`osk_key_…`), to recognise it; the secret part is never kept. */
  prefix: string;
  limits: QuotaLimits;
  createdAt: string;
  revokedAt: string | null;
  /** Updated at most once per `lastUsedResolutionMs`, so authentication rarely writes. */
  lastUsedAt: string | null;
}

export interface CreatedApiKey {
  record: ApiKeyRecord;
  /** The full key: shown to its owner once, never retrievable again. */
  key: string;
}

export interface CreateTenantOptions {
  name: string;
  /** Default 1. */
  weight?: number;
  /** Default: unlimited. */
  limits?: QuotaLimits;
}

export interface UpdateTenantOptions {
  name?: string;
  weight?: number;
  limits?: QuotaLimitsPatch;
}

export interface CreateApiKeyOptions {
  organizationId: string;
  teamId: string;
  name: string;
  role: Role;
  limits?: QuotaLimits;
}

export interface TenantDirectoryOptions {
  /** Default: `Date.now`. */
  now?: () => number;
  /**
   * How long `isEnforced` trusts its count of active keys before counting again, so keys created or
   * revoked by another process (the CLI beside a running server) take effect. Default 1000 ms.
   */
  keyCountTtlMs?: number;
  /** Least time between two writes of a key's `last_used_at`. Default 60000 ms. */
  lastUsedResolutionMs?: number;
  /**
   * How long `getLimits` trusts limits it has read, for changes made by another process; changes made
   * through this directory take effect at once. Default 1000 ms.
   */
  limitsTtlMs?: number;
}

/** Paths whose limits `getLimits` keeps at most; past that the cache starts over (bounds its memory). */
export const maxCachedLimits = 10_000;

interface CachedLimits {
  organizationId: string;
  teamId: string;
  limits: PathQuotaLimits;
  readAt: number;
}

const tokenPattern = /^osk_(key_[0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;
const keyIdPattern = /^key_[0-9a-f]{8}$/;
/** Compared against when the key id is unknown, so that both paths hash and compare. */
const absentHash = createHash("sha256").update("absent").digest();

interface LimitColumns {
  tokens_per_minute: number | null;
  tokens_per_day: number | null;
  concurrent_requests: number | null;
}

interface OrganizationRow extends LimitColumns {
  id: string;
  name: string;
  weight: number;
  created_at: string;
}

interface TeamRow extends OrganizationRow {
  organization_id: string;
}

interface ApiKeyRow extends LimitColumns {
  id: string;
  name: string;
  role: Role;
  organization_id: string;
  team_id: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

interface CredentialRow {
  id: string;
  name: string;
  role: Role;
  organization_id: string;
  team_id: string;
  secret_hash: Uint8Array;
  revoked_at: string | null;
  organization_weight: number;
  team_weight: number;
}

const limitColumnNames = "tokens_per_minute, tokens_per_day, concurrent_requests";
const apiKeyColumns = `id, name, role, organization_id, team_id, ${limitColumnNames}, created_at, revoked_at, last_used_at`;

export class TenantDirectory implements Authenticator {
  /** Opens the directory on a database, applying the tenancy migrations. */
  static open(database: SqlDatabase, options: TenantDirectoryOptions = {}): TenantDirectory {
    database.migrate("tenancy", tenancyMigrations);
    return new TenantDirectory(database, options);
  }

  readonly #database: SqlDatabase;
  readonly #now: () => number;
  readonly #keyCountTtlMs: number;
  readonly #lastUsedResolutionMs: number;
  readonly #limitsTtlMs: number;
  /** By API key id; an entry counts only for the organisation and team it was read for. */
  readonly #limits = new Map<string, CachedLimits>();
  #activeKeys = 0;
  #countedAt = Number.NEGATIVE_INFINITY;
  readonly #lastUsedWritten = new Map<string, number>();

  private constructor(database: SqlDatabase, options: TenantDirectoryOptions) {
    this.#database = database;
    this.#now = options.now ?? Date.now;
    this.#keyCountTtlMs = options.keyCountTtlMs ?? 1000;
    this.#lastUsedResolutionMs = options.lastUsedResolutionMs ?? 60_000;
    this.#limitsTtlMs = options.limitsTtlMs ?? 1000;
    this.#countActiveKeys();
  }

  // Organisations

  createOrganization(options: CreateTenantOptions): Organization {
    const name = parseName(options.name, "name");
    const id = slugify(name);
    const weight = parseWeight(options.weight ?? 1, "weight");
    const limits = parseLimits(options.limits ?? {}, "limits");
    this.#database.transaction(() => {
      if (this.#findOrganizationRow(id))
        throw new OstromError("organization_exists", `An organisation with id "${id}" already exists.`);
      this.#database
        .prepare(
          `INSERT INTO tenant_organizations (id, name, weight, ${limitColumnNames}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, name, weight, ...toLimitValues(limits), this.#isoNow());
    });
    this.#limits.clear();
    return this.getOrganization(id);
  }

  updateOrganization(id: string, options: UpdateTenantOptions): Organization {
    const patch = parseUpdate(options);
    this.#database.transaction(() => {
      const row = this.#findOrganizationRow(id);
      if (!row) throw organizationNotFound(id);
      const limits = applyLimitsPatch(toLimits(row), patch.limits);
      this.#database
        .prepare(
          "UPDATE tenant_organizations SET name = ?, weight = ?, tokens_per_minute = ?, tokens_per_day = ?, concurrent_requests = ? WHERE id = ?",
        )
        .run(patch.name ?? row.name, patch.weight ?? row.weight, ...toLimitValues(limits), id);
    });
    this.#limits.clear();
    return this.getOrganization(id);
  }

  /** Every organisation with its teams, by id. */
  listOrganizations(): Organization[] {
    const teams = this.#database
      .prepare<TeamRow>(
        `SELECT organization_id, id, name, weight, ${limitColumnNames}, created_at FROM tenant_teams ORDER BY organization_id, id`,
      )
      .all()
      .map(toTeam);
    const teamsByOrganization = new Map<string, Team[]>();
    for (const team of teams) {
      const list = teamsByOrganization.get(team.organizationId) ?? [];
      list.push(team);
      teamsByOrganization.set(team.organizationId, list);
    }
    return this.#database
      .prepare<OrganizationRow>(
        `SELECT id, name, weight, ${limitColumnNames}, created_at FROM tenant_organizations ORDER BY id`,
      )
      .all()
      .map((row) => toOrganization(row, teamsByOrganization.get(row.id) ?? []));
  }

  getOrganization(id: string): Organization {
    const row = this.#findOrganizationRow(id);
    if (!row) throw organizationNotFound(id);
    const teams = this.#database
      .prepare<TeamRow>(
        `SELECT organization_id, id, name, weight, ${limitColumnNames}, created_at FROM tenant_teams WHERE organization_id = ? ORDER BY id`,
      )
      .all(id)
      .map(toTeam);
    return toOrganization(row, teams);
  }

  // Teams

  createTeam(organizationId: string, options: CreateTenantOptions): Team {
    const name = parseName(options.name, "name");
    const id = slugify(name);
    const weight = parseWeight(options.weight ?? 1, "weight");
    const limits = parseLimits(options.limits ?? {}, "limits");
    this.#database.transaction(() => {
      if (!this.#findOrganizationRow(organizationId)) throw organizationNotFound(organizationId);
      if (this.#findTeamRow(organizationId, id))
        throw new OstromError(
          "team_exists",
          `Organisation "${organizationId}" already has a team with id "${id}".`,
        );
      this.#database
        .prepare(
          `INSERT INTO tenant_teams (organization_id, id, name, weight, ${limitColumnNames}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(organizationId, id, name, weight, ...toLimitValues(limits), this.#isoNow());
    });
    this.#limits.clear();
    return this.getTeam(organizationId, id);
  }

  updateTeam(organizationId: string, teamId: string, options: UpdateTenantOptions): Team {
    const patch = parseUpdate(options);
    this.#database.transaction(() => {
      const row = this.#requireTeamRow(organizationId, teamId);
      const limits = applyLimitsPatch(toLimits(row), patch.limits);
      this.#database
        .prepare(
          "UPDATE tenant_teams SET name = ?, weight = ?, tokens_per_minute = ?, tokens_per_day = ?, concurrent_requests = ? WHERE organization_id = ? AND id = ?",
        )
        .run(
          patch.name ?? row.name,
          patch.weight ?? row.weight,
          ...toLimitValues(limits),
          organizationId,
          teamId,
        );
    });
    this.#limits.clear();
    return this.getTeam(organizationId, teamId);
  }

  getTeam(organizationId: string, teamId: string): Team {
    return toTeam(this.#requireTeamRow(organizationId, teamId));
  }

  // API keys

  /** Creates a key; the returned `key` is the only time the secret exists outside its owner's hands. */
  createApiKey(options: CreateApiKeyOptions): CreatedApiKey {
    const name = parseName(options.name, "name");
    if (!(roles as readonly string[]).includes(options.role))
      throw invalidParameter("role", `Invalid role "${String(options.role)}": use admin or member.`);
    const limits = parseLimits(options.limits ?? {}, "limits");
    const secret = randomBytes(32).toString("base64url");
    const id = this.#database.transaction(() => {
      this.#requireTeamRow(options.organizationId, options.teamId);
      let candidate = createApiKeyId();
      while (this.#findApiKeyRow(candidate)) candidate = createApiKeyId();
      this.#database
        .prepare(
          `INSERT INTO tenant_api_keys (id, name, role, organization_id, team_id, secret_hash, ${limitColumnNames}, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          candidate,
          name,
          options.role,
          options.organizationId,
          options.teamId,
          hashSecret(secret),
          ...toLimitValues(limits),
          this.#isoNow(),
        );
      return candidate;
    });
    this.#limits.clear();
    this.#countActiveKeys();
    return { record: this.getApiKey(id), key: `osk_${id}_${secret}` };
  }

  /** Every key, revoked ones included, oldest first. */
  listApiKeys(): ApiKeyRecord[] {
    return this.#database
      .prepare<ApiKeyRow>(`SELECT ${apiKeyColumns} FROM tenant_api_keys ORDER BY created_at, id`)
      .all()
      .map(toApiKeyRecord);
  }

  getApiKey(id: string): ApiKeyRecord {
    const row = this.#findApiKeyRow(id);
    if (!row) throw new OstromError("api_key_not_found", `No API key with id "${id}".`);
    return toApiKeyRecord(row);
  }

  /** Revokes a key at once; revoking a revoked key changes nothing. */
  revokeApiKey(id: string): ApiKeyRecord {
    this.getApiKey(id);
    this.#database
      .prepare("UPDATE tenant_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
      .run(this.#isoNow(), id);
    this.#limits.clear();
    this.#countActiveKeys();
    return this.getApiKey(id);
  }

  // Authentication and limits

  isEnforced(): boolean {
    if (this.#now() - this.#countedAt >= this.#keyCountTtlMs) this.#countActiveKeys();
    return this.#activeKeys > 0;
  }

  authenticate(token: string): Principal | undefined {
    const match = tokenPattern.exec(token);
    if (!match) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    const row = this.#database
      .prepare<CredentialRow>(
        `SELECT k.id, k.name, k.role, k.organization_id, k.team_id, k.secret_hash, k.revoked_at,
                o.weight AS organization_weight, t.weight AS team_weight
         FROM tenant_api_keys k
         JOIN tenant_teams t ON t.organization_id = k.organization_id AND t.id = k.team_id
         JOIN tenant_organizations o ON o.id = k.organization_id
         WHERE k.id = ?`,
      )
      .get(id);
    const stored = row && row.secret_hash.byteLength === absentHash.byteLength ? row.secret_hash : absentHash;
    const matches = timingSafeEqual(hashSecret(secret), stored);
    if (!row || !matches || row.revoked_at !== null) return undefined;
    this.#touch(row.id);
    return {
      path: createTenantPath({
        organizationId: row.organization_id,
        organizationWeight: row.organization_weight,
        teamId: row.team_id,
        teamWeight: row.team_weight,
        apiKeyId: row.id,
      }),
      role: row.role,
      keyName: row.name,
      authenticated: true,
    };
  }

  /**
   * The limits of a path's key, team and organisation; levels unknown here (e.g. open mode) are
   * unlimited. Cached (see the top of this file); the result is frozen, as it is shared.
   */
  getLimits(path: TenantPath): PathQuotaLimits {
    const now = this.#now();
    const cached = this.#limits.get(path.apiKeyId);
    if (
      cached !== undefined &&
      cached.organizationId === path.organizationId &&
      cached.teamId === path.teamId &&
      now - cached.readAt < this.#limitsTtlMs
    )
      return cached.limits;
    const limits = this.#readLimits(path);
    if (this.#limits.size >= maxCachedLimits && cached === undefined) this.#limits.clear();
    this.#limits.set(path.apiKeyId, {
      organizationId: path.organizationId,
      teamId: path.teamId,
      limits,
      readAt: now,
    });
    return limits;
  }

  #readLimits(path: TenantPath): PathQuotaLimits {
    const limits: PathQuotaLimits = {};
    const organization = this.#findOrganizationRow(path.organizationId);
    if (organization) limits.organization = toLimits(organization);
    const team = this.#findTeamRow(path.organizationId, path.teamId);
    if (team) limits.team = toLimits(team);
    const key = this.#findApiKeyRow(path.apiKeyId);
    if (key && key.organization_id === path.organizationId && key.team_id === path.teamId)
      limits.apiKey = toLimits(key);
    for (const level of Object.values(limits)) Object.freeze(level);
    return Object.freeze(limits);
  }

  #countActiveKeys(): void {
    this.#activeKeys =
      this.#database
        .prepare<{ n: number }>("SELECT count(*) AS n FROM tenant_api_keys WHERE revoked_at IS NULL")
        .get()?.n ?? 0;
    this.#countedAt = this.#now();
  }

  /** Best effort: a busy database must not fail the request that is being authenticated. */
  #touch(id: string): void {
    const now = this.#now();
    if (now - (this.#lastUsedWritten.get(id) ?? Number.NEGATIVE_INFINITY) < this.#lastUsedResolutionMs)
      return;
    this.#lastUsedWritten.set(id, now);
    try {
      this.#database
        .prepare("UPDATE tenant_api_keys SET last_used_at = ? WHERE id = ?")
        .run(new Date(now).toISOString(), id);
    } catch {
      // The next use after the resolution tries again.
    }
  }

  #isoNow(): string {
    return new Date(this.#now()).toISOString();
  }

  #findOrganizationRow(id: string): OrganizationRow | undefined {
    return this.#database
      .prepare<OrganizationRow>(
        `SELECT id, name, weight, ${limitColumnNames}, created_at FROM tenant_organizations WHERE id = ?`,
      )
      .get(id);
  }

  #findTeamRow(organizationId: string, teamId: string): TeamRow | undefined {
    return this.#database
      .prepare<TeamRow>(
        `SELECT organization_id, id, name, weight, ${limitColumnNames}, created_at FROM tenant_teams WHERE organization_id = ? AND id = ?`,
      )
      .get(organizationId, teamId);
  }

  #requireTeamRow(organizationId: string, teamId: string): TeamRow {
    const row = this.#findTeamRow(organizationId, teamId);
    if (row) return row;
    if (!this.#findOrganizationRow(organizationId)) throw organizationNotFound(organizationId);
    throw new OstromError("team_not_found", `Organisation "${organizationId}" has no team "${teamId}".`);
  }

  #findApiKeyRow(id: string): ApiKeyRow | undefined {
    if (!keyIdPattern.test(id)) return undefined;
    return this.#database
      .prepare<ApiKeyRow>(`SELECT ${apiKeyColumns} FROM tenant_api_keys WHERE id = ?`)
      .get(id);
  }
}

/** The id of an organisation or team: its name in lower case, runs of other characters as one `-`. */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64)
    .replace(/-+$/, "");
}

function createApiKeyId(): string {
  return `key_${randomBytes(4).toString("hex")}`;
}

function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

function organizationNotFound(id: string): OstromError {
  return new OstromError("organization_not_found", `No organisation with id "${id}".`);
}

function parseName(value: unknown, param: string): string {
  if (typeof value !== "string") throw invalidParameter(param, `${param} must be a string.`);
  const name = value.trim();
  if (name.length === 0 || name.length > maxNameLength)
    throw invalidParameter(param, `${param} must be 1–${maxNameLength} characters.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw invalidParameter(param, `${param} must not contain control characters.`);
  if (slugify(name) === "") throw invalidParameter(param, `${param} must contain a letter or a digit.`);
  return name;
}

function parseWeight(value: unknown, param: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > maxWeight)
    throw invalidParameter(param, `${param} must be a number > 0 and ≤ ${maxWeight}.`);
  return value;
}

function parseLimit(value: unknown, param: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw invalidParameter(param, `${param} must be a whole number ≥ 0 (omit it for no limit).`);
  return value;
}

const limitParams: Record<keyof QuotaLimits, string> = {
  tokensPerMinute: "tokens_per_minute",
  tokensPerDay: "tokens_per_day",
  concurrentRequests: "concurrent_requests",
};

function parseLimits(limits: QuotaLimits, param: string): QuotaLimits {
  const parsed: QuotaLimits = {};
  for (const kind of quotaKinds) {
    const value = limits[kind];
    if (value !== undefined) parsed[kind] = parseLimit(value, `${param}.${limitParams[kind]}`);
  }
  return parsed;
}

function parseUpdate(options: UpdateTenantOptions): UpdateTenantOptions {
  const patch: UpdateTenantOptions = {};
  if (options.name !== undefined) {
    patch.name = parseName(options.name, "name");
  }
  if (options.weight !== undefined) patch.weight = parseWeight(options.weight, "weight");
  if (options.limits !== undefined) {
    patch.limits = {};
    for (const kind of quotaKinds) {
      const value = options.limits[kind];
      if (value === null) patch.limits[kind] = null;
      else if (value !== undefined) patch.limits[kind] = parseLimit(value, `limits.${limitParams[kind]}`);
    }
  }
  return patch;
}

function applyLimitsPatch(limits: QuotaLimits, patch: QuotaLimitsPatch | undefined): QuotaLimits {
  const result: QuotaLimits = { ...limits };
  for (const kind of quotaKinds) {
    const value = patch?.[kind];
    if (value === null) delete result[kind];
    else if (value !== undefined) result[kind] = value;
  }
  return result;
}

function toLimitValues(limits: QuotaLimits): [number | null, number | null, number | null] {
  return [limits.tokensPerMinute ?? null, limits.tokensPerDay ?? null, limits.concurrentRequests ?? null];
}

function toLimits(row: LimitColumns): QuotaLimits {
  const limits: QuotaLimits = {};
  if (row.tokens_per_minute !== null) limits.tokensPerMinute = row.tokens_per_minute;
  if (row.tokens_per_day !== null) limits.tokensPerDay = row.tokens_per_day;
  if (row.concurrent_requests !== null) limits.concurrentRequests = row.concurrent_requests;
  return limits;
}

function toTeam(row: TeamRow): Team {
  return {
    organizationId: row.organization_id as OrganizationId,
    id: row.id as TeamId,
    name: row.name,
    weight: row.weight,
    limits: toLimits(row),
    createdAt: row.created_at,
  };
}

function toOrganization(row: OrganizationRow, teams: readonly Team[]): Organization {
  return {
    id: row.id as OrganizationId,
    name: row.name,
    weight: row.weight,
    limits: toLimits(row),
    createdAt: row.created_at,
    teams: [...teams],
  };
}

function toApiKeyRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id as ApiKeyId,
    name: row.name,
    role: row.role,
    organizationId: row.organization_id as OrganizationId,
    teamId: row.team_id as TeamId,
    prefix: `osk_${row.id}`,
    limits: toLimits(row),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
