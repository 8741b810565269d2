// Flat shares for the tenants present at one moment, from their places in the organisation → team →
// key hierarchy: the same rule as FairScheduler.getShare (groups share by weight among their active
// siblings, tenants of one innermost group equally), but over exactly the given set, so every share is
// computed against the same set of tenants. Used to weight one evaluation step's batch items
// (engine/local/fair-batching.ts). Pure; imports nothing.

/** A group a tenant belongs to, with its weight among its siblings. */
export interface TenantGroup {
  key: string;
  /** Finite and > 0; anything else counts as 1. */
  weight: number;
}

export interface TenantPlace {
  /** The tenant's own key; places with the same key are one tenant. */
  key: string;
  /** Outermost first; empty for a tenant that stands alone at the top. */
  groups: readonly TenantGroup[];
}

interface ShareNode {
  weight: number;
  /** Groups and tenants below, keyed apart so a tenant key never collides with a group key. */
  children: Map<string, ShareNode>;
  tenantKey: string | undefined;
}

/** Each distinct tenant key → its share; the shares sum to 1 (an empty input gives an empty map). */
export function flattenTenantShares(places: Iterable<TenantPlace>): Map<string, number> {
  const root: ShareNode = { weight: 1, children: new Map(), tenantKey: undefined };
  for (const place of places) {
    let node = root;
    for (const group of place.groups) node = getChild(node, `group:${group.key}`, group.weight, undefined);
    getChild(node, `tenant:${place.key}`, 1, place.key);
  }
  const shares = new Map<string, number>();
  const visit = (node: ShareNode, share: number) => {
    if (node.tenantKey !== undefined) shares.set(node.tenantKey, (shares.get(node.tenantKey) ?? 0) + share);
    let total = 0;
    for (const child of node.children.values()) total += child.weight;
    for (const child of node.children.values()) visit(child, (share * child.weight) / total);
  };
  visit(root, 1);
  return shares;
}

function getChild(node: ShareNode, key: string, weight: number, tenantKey: string | undefined): ShareNode {
  let child = node.children.get(key);
  if (child === undefined) {
    child = {
      weight: Number.isFinite(weight) && weight > 0 ? weight : 1,
      children: new Map(),
      tenantKey,
    };
    node.children.set(key, child);
  }
  return child;
}
