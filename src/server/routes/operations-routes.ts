// What operators and clients can see of the shared capacity: `GET /v1/queue` (pools, per-tenant queue
// depths and the waiting/running requests with their positions; members see only their own requests
// and their own key's row) and `GET /metrics` in Prometheus text format (admin keys only once keys exist).
import { Hono } from "hono";
import type { ActiveRequest, PoolSnapshot } from "../../dispatch/dispatcher.ts";
import type { Principal } from "../../tenancy/principal.ts";
import type { AppContext } from "../app-context.ts";
import { type AppEnv, assertAdmin, getPrincipal } from "../app-env.ts";

export function createQueueRoutes(context: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/queue", (c) => {
    const principal = getPrincipal(c);
    const own = (path: Principal["path"]) => principal.role === "admin" || isSameKey(path, principal.path);
    return c.json({
      pools: context.dispatcher.snapshotPools().map((pool) => toPoolJson(pool, own)),
      requests: context.dispatcher.listActive(own).map(toRequestJson),
    });
  });
  return app;
}

export function createMetricsRoutes(context: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/metrics", (c) => {
    assertAdmin(getPrincipal(c));
    return c.body(context.dispatcher.metrics.registry.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  return app;
}

function isSameKey(a: Principal["path"], b: Principal["path"]): boolean {
  return a.organizationId === b.organizationId && a.teamId === b.teamId && a.apiKeyId === b.apiKeyId;
}

function toPoolJson(pool: PoolSnapshot, own: (path: Principal["path"]) => boolean) {
  return {
    backend: pool.backend,
    model: pool.model,
    capacity: pool.capacity,
    running: pool.running,
    queued: pool.queued,
    tenants: pool.tenants
      .filter((tenant) =>
        own({
          organizationId: tenant.organizationId,
          teamId: tenant.teamId,
          apiKeyId: tenant.apiKeyId,
        } as Principal["path"]),
      )
      .map((tenant) => ({
        organization: tenant.organizationId,
        team: tenant.teamId,
        key: tenant.apiKeyId,
        queued_interactive: tenant.queuedInteractive,
        queued_batch: tenant.queuedBatch,
        running: tenant.running,
        charged_tokens: tenant.chargedTokens,
      })),
  };
}

function toRequestJson(request: ActiveRequest) {
  return {
    id: request.id,
    model: request.model,
    backend: request.backend,
    organization: request.path.organizationId,
    team: request.path.teamId,
    key: request.path.apiKeyId,
    key_name: request.keyName,
    priority: request.priority,
    state: request.state,
    position: request.position ?? null,
    waited_ms: Math.round(request.waitedMs),
  };
}
