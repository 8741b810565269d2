// Who is making a request, as everything past authentication sees it: the tenant path the work is
// scheduled and charged to, and the role that decides what the caller may administer. Pure data; knows
// nothing of HTTP or of how keys are stored (see tenant-directory.ts for that).
import { createTenantPath, type TenantPath } from "../scheduler/tenant-path.ts";

export type Role = "admin" | "member";

export interface Principal {
  /** Where the request's work is scheduled and charged: organisation → team → key. */
  readonly path: TenantPath;
  readonly role: Role;
  /** The key's display name, for logs, usage and the console (never the secret). */
  readonly keyName: string;
  /** False when the server runs without keys (open mode, localhost only). */
  readonly authenticated: boolean;
}

/** The caller when no key exists: the machine's own user, with every right, in one local tenant. */
export const localPrincipal: Principal = {
  path: createTenantPath({ organizationId: "local", teamId: "local", apiKeyId: "local" }),
  role: "admin",
  keyName: "local",
  authenticated: false,
};

/** What the HTTP layer asks of the tenant directory to authenticate a request. */
export interface Authenticator {
  /** True once any unrevoked key exists: every endpoint but `/health` then requires one. */
  isEnforced(): boolean;
  /** The principal of a bearer token, or undefined when unknown or revoked. Compares in constant time. */
  authenticate(token: string): Principal | undefined;
}
