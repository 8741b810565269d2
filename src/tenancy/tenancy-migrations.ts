// The tenancy tables, as numbered migrations of the "tenancy" namespace: organisations → teams → API
// keys (tenant-directory.ts), quota usage per scope (sqlite-quota-store.ts) and the durable usage log
// (usage-log.ts). Each of those opens with the whole list, so whichever opens first creates them all.
// A limit column that is NULL means unlimited.
import type { Migration } from "../storage/sql-database.ts";

export const tenancyMigrations: readonly Migration[] = [
  {
    version: 1,
    name: "organisations, teams and API keys",
    up: `
      CREATE TABLE tenant_organizations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        weight REAL NOT NULL CHECK (weight > 0),
        tokens_per_minute INTEGER,
        tokens_per_day INTEGER,
        concurrent_requests INTEGER,
        created_at TEXT NOT NULL
      );
      CREATE TABLE tenant_teams (
        organization_id TEXT NOT NULL REFERENCES tenant_organizations(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        weight REAL NOT NULL CHECK (weight > 0),
        tokens_per_minute INTEGER,
        tokens_per_day INTEGER,
        concurrent_requests INTEGER,
        created_at TEXT NOT NULL,
        PRIMARY KEY (organization_id, id)
      );
      CREATE TABLE tenant_api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        organization_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        -- SHA-256 of the secret part of the key; the key itself is never stored.
        secret_hash BLOB NOT NULL,
        tokens_per_minute INTEGER,
        tokens_per_day INTEGER,
        concurrent_requests INTEGER,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT,
        FOREIGN KEY (organization_id, team_id) REFERENCES tenant_teams(organization_id, id) ON DELETE CASCADE
      );
      CREATE INDEX tenant_api_keys_team ON tenant_api_keys (organization_id, team_id);
      CREATE INDEX tenant_api_keys_active ON tenant_api_keys (revoked_at);
    `,
  },
  {
    version: 2,
    name: "quota usage per scope",
    up: `
      CREATE TABLE quota_usage (
        scope TEXT PRIMARY KEY,
        -- JSON of a ScopeUsage (src/scheduler/quota-store.ts).
        usage TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "usage log",
    up: `
      CREATE TABLE usage_log (
        id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        -- Milliseconds since the Unix epoch, when the request ended.
        at_ms INTEGER NOT NULL,
        organization_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        api_key_id TEXT NOT NULL,
        key_name TEXT NOT NULL,
        model TEXT NOT NULL,
        backend TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        queue_wait_ms REAL NOT NULL,
        time_to_first_token_ms REAL,
        duration_ms REAL NOT NULL,
        outcome TEXT NOT NULL,
        error_code TEXT
      );
      CREATE INDEX usage_log_at ON usage_log (at_ms);
      CREATE INDEX usage_log_key_at ON usage_log (api_key_id, at_ms);
    `,
  },
];
