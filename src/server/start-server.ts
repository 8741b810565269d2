// Starts Ostrom's HTTP server from a configuration: opens the model store, creates the engine, binds
// the app to a port, and owns graceful shutdown (stop taking work, drain, unload, exit).
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Config } from "../config/config-schema.ts";
import { createOwnedEngine, systemOwner } from "../dispatch/owned-engine.ts";
import { createDispatcher } from "../runtime/create-dispatcher.ts";
import { createEngine } from "../runtime/create-engine.ts";
import { ensureDefaultModel } from "../runtime/ensure-default-model.ts";
import { ModelProvenanceService } from "../runtime/model-provenance-service.ts";
import { openKnowledgeService } from "../runtime/open-knowledge-service.ts";
import { openStore } from "../runtime/open-store.ts";
import { openTenancy } from "../runtime/open-tenancy.ts";
import { startEngineBuild } from "../runtime/start-engine-build.ts";
import type { Logger } from "../util/logger.ts";
import { toModelHandle } from "./app-context.ts";
import { createApp } from "./create-app.ts";

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:11435`. */
  url: string;
  port: number;
  /** Stops accepting requests, lets in-flight ones finish (up to the shutdown timeout), unloads models. */
  shutdown(): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const store = await openStore(config);
  const provenance = await ModelProvenanceService.create(config, log);
  const engine = createEngine(config, log);
  const tenancy = openTenancy(config, log);
  const { directory, ledger, usageLog } = tenancy;
  const { dispatcher, stop: stopBackends } = await createDispatcher({
    config,
    engine,
    log,
    ledger,
    usage: usageLog,
    isShared: () => directory.isEnforced(),
  });
  const knowledge = openKnowledgeService(config, {
    // Embedding uploaded documents is background work: it queues as its own tenant, at batch priority.
    engine: createOwnedEngine(dispatcher, engine, systemOwner, "batch"),
    async resolveModel(ref) {
      const entry = await store.resolve(ref);
      await provenance.assertServable(entry);
      return toModelHandle(entry);
    },
  });
  let draining = false;
  const app = createApp({
    engine,
    dispatcher,
    authenticator: directory,
    tenancy: { directory, usageLog },
    models: store,
    modelAdmin: { store, config },
    provenance,
    knowledge,
    config,
    log,
    isDraining: () => draining,
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const instance = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
      resolve(instance),
    );
    instance.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

  const models = await store.list();
  log.info(
    `Ostrom listening on ${url} (OpenAI API at ${url}/v1) with ${models.length} model(s) in ${store.root}`,
  );
  if (!directory.isEnforced())
    log.warn(
      "no API keys exist, so the API is open but serves only this machine (loopback); create one with " +
        "`ostrom tenant add ORG --team TEAM` and `ostrom key create ORG/TEAM --name NAME --role admin` to require keys and serve others",
    );
  void ensureDefaultModel(store, config, log);
  const engineBuild = startEngineBuild(config, log, () => engine.reloadWhenIdle());

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = () => {
    shutdownPromise ??= (async () => {
      draining = true;
      const buildStopped = engineBuild.stop();
      log.info(`draining ${dispatcher.pendingRequests} in-flight request(s) before exit`);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const deadline = Date.now() + config.shutdownTimeout * 1000;
      dispatcher.close();
      while (dispatcher.pendingRequests + engine.pendingRequests > 0 && Date.now() < deadline)
        await sleep(50);
      if ("closeAllConnections" in server) server.closeAllConnections();
      await closed;
      await stopBackends();
      // Usage of requests without limits waits in memory up to a second (quota-ledger.ts).
      await ledger.flush().catch((error) => log.warn(`could not write the last quota usage: ${error}`));
      tenancy[Symbol.dispose]();
      await engine[Symbol.asyncDispose]();
      await buildStopped;
      knowledge[Symbol.dispose]();
      log.info("stopped");
    })();
    return shutdownPromise;
  };
  return { url, port, shutdown };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
