// What the HTTP layer needs from the rest of Ostrom, passed in explicitly (no globals, no imports of
// implementations), so routes are tested in process with real or fake collaborators.
import type { Config } from "../config/config-schema.ts";
import type { Dispatcher } from "../dispatch/dispatcher.ts";
import type { Engine, ModelHandle } from "../engine/engine.ts";
import type { KnowledgeService } from "../knowledge/knowledge-service.ts";
import type { ModelProvenanceService, ProvenanceSummary } from "../runtime/model-provenance-service.ts";
import type { ModelEntry } from "../store/model-store.ts";
import type { Authenticator } from "../tenancy/principal.ts";
import type { Logger } from "../util/logger.ts";
import type { AdminRoutesDeps } from "./routes/admin-routes.ts";
import type { ModelAdminDeps } from "./routes/model-admin-routes.ts";

export interface ModelCatalogView {
  list(): Promise<ModelEntry[]>;
  /** Resolves `name[:tag]`; throws `model_not_found`. */
  resolve(ref: string): Promise<ModelEntry>;
  /** Whether the store holds `ref`, without the cost of a failed `resolve` (suggestions). */
  has(ref: string): Promise<boolean>;
}

export interface AppContext {
  /** The local engine, for what is loaded (`/health`, `/api/ps`); generation goes through `dispatcher`. */
  engine: Engine;
  /** Every generation request goes through it: quotas, fair queues, placement on backends, accounting. */
  dispatcher: Dispatcher;
  /** Who may call the API; absent, or with no keys yet: the server is open to its own machine only. */
  authenticator?: Authenticator;
  /** Tenants, keys and usage for the admin endpoints; absent: those endpoints answer 404. */
  tenancy?: AdminRoutesDeps;
  models: ModelCatalogView;
  /** Pull, import and remove over HTTP (admins only); absent: those endpoints answer 404. */
  modelAdmin?: ModelAdminDeps;
  provenance: ModelProvenanceService;
  /** Knowledge bases (grounded chat, `/v1/knowledge-bases`, MCP); absent: those endpoints answer 404/400. */
  knowledge?: KnowledgeService;
  config: Pick<Config, "maxBodyBytes" | "maxOutputTokens">;
  log: Logger;
  /** True once the server is draining for shutdown. */
  isDraining: () => boolean;
}

export function toModelHandle(entry: ModelEntry): ModelHandle {
  return { ref: entry.ref, digest: entry.digest, path: entry.path };
}

export interface ServableModel {
  model: ModelHandle;
  /** Response headers naming what was served: digest, license, MOF class, OSAID verdict. */
  headers: Record<string, string>;
}

/** Resolves a requested model and checks the serving policy; every generating route starts here. */
export async function resolveServableModel(context: AppContext, name: string): Promise<ServableModel> {
  // A name a remote backend serves and the store does not hold is remote; asking the store cheaply
  // first keeps a stored model of the same name local, and spares remote requests the not-found path.
  const remote = context.dispatcher.findRemoteModel(name);
  if (remote && !(await context.models.has(name)))
    return { model: remote, headers: await context.provenance.assertRemoteServable(name) };
  const entry = await context.models.resolve(name);
  const summary = await context.provenance.assertServable(entry);
  return { model: toModelHandle(entry), headers: toProvenanceHeaders(summary) };
}

export function toProvenanceHeaders(summary: ProvenanceSummary): Record<string, string> {
  return {
    "x-ostrom-model-digest": summary.digest,
    "x-ostrom-model-license": summary.license,
    "x-ostrom-mof-class": summary.mofClass,
    "x-ostrom-osaid": summary.osaid,
  };
}
