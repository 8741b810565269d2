// The typed per-request variables routes read from Hono's context: set by middleware in create-app.ts
// before any route runs.
import type { Context } from "hono";
import { OstromError } from "../errors.ts";
import type { Principal } from "../tenancy/principal.ts";

export type AppEnv = { Variables: { principal: Principal } };

export function getPrincipal(c: Context<AppEnv>): Principal {
  return c.get("principal");
}

/** Throws 403 `forbidden` unless the caller holds an admin key (or the server runs open on localhost). */
export function assertAdmin(principal: Principal): void {
  if (principal.role !== "admin")
    throw new OstromError("forbidden", "This endpoint needs an admin key; the key used is a member key.");
}
