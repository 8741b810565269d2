// Builds the dispatcher a server runs: the local engine as one backend, every `--backend NAME=URL` as a
// remote one (checked now, then periodically), and the quota ledger and usage log when tenancy is on.
import type { Config } from "../config/config-schema.ts";
import { createLocalBackend } from "../dispatch/backend.ts";
import { Dispatcher, type UsageSink } from "../dispatch/dispatcher.ts";
import { parseBackendApiKeys, parseBackendSpecs, RemoteBackend } from "../dispatch/remote-backend.ts";
import type { Engine } from "../engine/engine.ts";
import { RemoteEngine } from "../engine/remote/remote-engine.ts";
import type { QuotaLedger } from "../scheduler/quota-ledger.ts";
import type { Logger } from "../util/logger.ts";

export interface CreateDispatcherOptions {
  config: Config;
  engine: Engine;
  log: Logger;
  ledger?: QuotaLedger;
  usage?: UsageSink;
  isShared?: () => boolean;
}

export interface RunningDispatcher {
  dispatcher: Dispatcher;
  /** Stops the remote backends' health checks and closes their connections. */
  stop(): Promise<void>;
}

export async function createDispatcher(options: CreateDispatcherOptions): Promise<RunningDispatcher> {
  const { config, engine, log } = options;
  const specs = parseBackendSpecs(config.backends);
  const apiKeys = parseBackendApiKeys(config.backendApiKeys, specs);
  const remotes = specs.map(
    (spec) =>
      new RemoteBackend({
        name: spec.name,
        engine: new RemoteEngine({
          name: spec.name,
          baseUrl: spec.baseUrl,
          connectTimeoutMs: config.backendConnectTimeout * 1000,
          idleTimeoutMs: config.backendIdleTimeout * 1000,
          responseTimeoutMs: config.backendResponseTimeout * 1000,
          ...(apiKeys.has(spec.name) ? { apiKey: apiKeys.get(spec.name) as string } : {}),
        }),
        capacity: config.backendConcurrency,
        log: (message) => log.info(message),
      }),
  );
  await Promise.all(remotes.map((remote) => remote.start()));
  for (const remote of remotes)
    if (!remote.healthy)
      log.warn(`backend ${remote.name} is not reachable yet; it is checked again every few seconds`);
  const dispatcher = new Dispatcher({
    backends: [createLocalBackend(engine, config.parallel), ...remotes],
    maxQueued: config.maxQueue,
    maxQueuedPerKey: config.maxQueuePerKey,
    queueTimeoutMs: config.queueTimeout * 1000,
    defaultMaxTokens: config.maxOutputTokens,
    ...(options.ledger ? { ledger: options.ledger } : {}),
    ...(options.usage ? { usage: options.usage } : {}),
    ...(options.isShared ? { isShared: options.isShared } : {}),
  });
  return {
    dispatcher,
    async stop() {
      for (const remote of remotes) {
        remote.stop();
        await remote.engine[Symbol.asyncDispose]();
      }
    },
  };
}
