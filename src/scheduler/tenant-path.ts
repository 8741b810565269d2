// Who a request belongs to, as the scheduler and quota ledger see it: organisation → team → API key,
// with the weights used for fair sharing. Pure data; knows nothing of how tenants are stored.
import type { TenantPlace } from "./flatten-tenant-shares.ts";

export type OrganizationId = string & { readonly __organizationId: never };
export type TeamId = string & { readonly __teamId: never };
export type ApiKeyId = string & { readonly __apiKeyId: never };

/**
 * Organisations share capacity by `organizationWeight`, teams within their organisation by
 * `teamWeight`, and the keys of a team equally. Team ids need only be unique within their organisation.
 */
export interface TenantPath {
  readonly organizationId: OrganizationId;
  /** Relative share of the organisation among organisations; finite and > 0. */
  readonly organizationWeight: number;
  readonly teamId: TeamId;
  /** Relative share of the team among its organisation's teams; finite and > 0. */
  readonly teamWeight: number;
  readonly apiKeyId: ApiKeyId;
}

export interface CreateTenantPathOptions {
  organizationId: string;
  /** Default 1. */
  organizationWeight?: number;
  teamId: string;
  /** Default 1. */
  teamWeight?: number;
  apiKeyId: string;
}

/** Builds a validated path; throws `RangeError` on an empty id or a weight that is not finite and > 0. */
export function createTenantPath(options: CreateTenantPathOptions): TenantPath {
  const organizationWeight = options.organizationWeight ?? 1;
  const teamWeight = options.teamWeight ?? 1;
  for (const [name, id] of [
    ["organizationId", options.organizationId],
    ["teamId", options.teamId],
    ["apiKeyId", options.apiKeyId],
  ] as const)
    if (id.length === 0) throw new RangeError(`${name} must not be empty`);
  for (const [name, weight] of [
    ["organizationWeight", organizationWeight],
    ["teamWeight", teamWeight],
  ] as const)
    if (!Number.isFinite(weight) || weight <= 0) throw new RangeError(`${name} must be finite and > 0`);
  return {
    organizationId: options.organizationId as OrganizationId,
    organizationWeight,
    teamId: options.teamId as TeamId,
    teamWeight,
    apiKeyId: options.apiKeyId as ApiKeyId,
  };
}

export interface TenantNodeKeys {
  readonly organization: string;
  readonly team: string;
  readonly apiKey: string;
}

// A request's path is asked for its keys by the quota ledger, the fair scheduler and the dispatcher,
// several times per request: remembered per path object (paths are immutable), they are built once.
const nodeKeysByPath = new WeakMap<TenantPath, TenantNodeKeys>();
const placeByPath = new WeakMap<TenantPath, TenantPlace>();

/** Stable string keys of the three nodes of a path, unique across the whole hierarchy. */
export function getTenantNodeKeys(path: TenantPath): TenantNodeKeys {
  let keys = nodeKeysByPath.get(path);
  if (keys === undefined) {
    keys = Object.freeze({
      organization: `org:${path.organizationId}`,
      team: `team:${JSON.stringify([path.organizationId, path.teamId])}`,
      apiKey: `key:${JSON.stringify([path.organizationId, path.teamId, path.apiKeyId])}`,
    });
    nodeKeysByPath.set(path, keys);
  }
  return keys;
}

/**
 * The path as a place in the hierarchy (organisation, then team, each with its weight), keyed by node.
 * The same frozen object for the same path object.
 */
export function toTenantPlace(path: TenantPath): TenantPlace {
  let place = placeByPath.get(path);
  if (place === undefined) {
    const keys = getTenantNodeKeys(path);
    place = Object.freeze({
      key: keys.apiKey,
      groups: Object.freeze([
        Object.freeze({ key: keys.organization, weight: path.organizationWeight }),
        Object.freeze({ key: keys.team, weight: path.teamWeight }),
      ]),
    });
    placeByPath.set(path, place);
  }
  return place;
}
