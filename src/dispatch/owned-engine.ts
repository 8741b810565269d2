// The Engine interface over the dispatcher, for one owner: code written against `Engine` (knowledge-base
// embeddings, the MCP `ask` tool) then goes through quotas, fair queues, placement and accounting like
// every API request, instead of around them. Loading and listing stay with the local engine.
import type { Engine } from "../engine/engine.ts";
import type { PriorityClass } from "../scheduler/fair-scheduler.ts";
import { createTenantPath } from "../scheduler/tenant-path.ts";
import type { Dispatcher, WorkOwner } from "./dispatcher.ts";

/** Work Ostrom does for itself (e.g. embedding uploaded documents), scheduled as its own tenant. */
export const systemOwner: WorkOwner = {
  path: createTenantPath({ organizationId: "system", teamId: "system", apiKeyId: "system" }),
  keyName: "system",
};

export function createOwnedEngine(
  dispatcher: Dispatcher,
  engine: Engine,
  owner: WorkOwner,
  priority: PriorityClass = "interactive",
): Engine {
  return {
    chat: (request, signal) => dispatcher.chat(request, { owner, priority, signal }),
    complete: (request, signal) => dispatcher.complete(request, { owner, priority, signal }),
    embed: (request, signal) => dispatcher.embed(request, { owner, priority, signal }),
    load: (model, signal) => engine.load(model, signal),
    unload: (digest) => engine.unload(digest),
    listLoaded: () => engine.listLoaded(),
    get pendingRequests() {
      return dispatcher.pendingRequests;
    },
    // The engine belongs to the server, which disposes of it; a view of it has nothing of its own.
    [Symbol.asyncDispose]: async () => {},
  };
}
