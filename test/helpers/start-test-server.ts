// Starts the real Ostrom server in process on an ephemeral port, over a fresh data directory with
// the given models imported, and returns what tests need to talk to it.
import OpenAI from "openai";
import { loadConfig } from "../../src/config/load-config.ts";
import { openStore } from "../../src/runtime/open-store.ts";
import { type RunningServer, startServer } from "../../src/server/start-server.ts";
import type { ModelStore } from "../../src/store/model-store.ts";
import { createLogger, silentLogger } from "../../src/util/logger.ts";
import { createTempDir } from "./test-models.ts";

export interface TestServer extends RunningServer {
  dataDir: string;
  store: ModelStore;
  client: OpenAI;
}

export async function startTestServer(
  models: Record<string, string>,
  args: Record<string, string | boolean | string[]> = {},
): Promise<TestServer> {
  const dataDir = await createTempDir("ostrom-data-");
  const config = loadConfig({
    args: {
      port: "0",
      "data-dir": dataDir,
      "pull-on-start": "false",
      "engine-build": "off",
      threads: "1",
      ...args,
    },
    env: {},
  });
  const store = await openStore(config);
  for (const [name, file] of Object.entries(models)) await store.importFile(file, { name });
  const log = process.env.OSTROM_TEST_LOG ? createLogger("debug") : silentLogger;
  const server = await startServer(config, log);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  return { ...server, dataDir, store, client };
}
