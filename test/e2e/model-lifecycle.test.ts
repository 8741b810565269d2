// End to end: how models load, wait, unload and fail — memory refusal before loading, bounded queues,
// idle unloading, and a damaged model file that must not take the server down.
import assert from "node:assert/strict";
import { open } from "node:fs/promises";
import { test } from "node:test";
import { endless } from "../helpers/endless.ts";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { getTinyModelPath } from "../helpers/test-models.ts";

async function withServer(
  args: Record<string, string>,
  use: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ "tiny:latest": await getTinyModelPath() }, args);
  try {
    await use(server);
  } finally {
    await server.shutdown();
  }
}

async function post(server: TestServer, path: string, body: object) {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { error: Record<string, unknown> },
  };
}

async function getLoadedModels(server: TestServer): Promise<Array<{ ref: string }>> {
  const response = await fetch(`${server.url}/health`);
  return ((await response.json()) as { loaded_models: Array<{ ref: string }> }).loaded_models;
}

test("a model whose estimated memory exceeds the limit is refused before loading", async () => {
  await withServer({ "memory-limit": "1MiB" }, async (server) => {
    const response = await post(server, "/v1/completions", { model: "tiny", prompt: "x", max_tokens: 2 });
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, "insufficient_memory");
    assert.match(String(response.body.error.message), /needs about \d+ MiB/);
    assert.deepEqual(await getLoadedModels(server), [], "nothing was loaded");
  });
});

test("a full queue answers 429 with Retry-After; a queued request runs when the slot frees", async () => {
  await withServer({ parallel: "1", "max-queue": "1" }, async (server) => {
    const body = { model: "tiny", prompt: "x", max_tokens: 600, temperature: 1, ...endless };
    const running = post(server, "/v1/completions", body);
    // Wait until the first request holds the only slot.
    for (let attempt = 0; attempt < 500; attempt++) {
      const health = (await (await fetch(`${server.url}/health`)).json()) as {
        loaded_models: Array<{ activeRequests: number }>;
      };
      if (health.loaded_models[0]?.activeRequests === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const queued = post(server, "/v1/completions", { ...body, max_tokens: 3 });
    // Give the queued request time to reach the fair queue before the third arrives.
    for (let attempt = 0; attempt < 500; attempt++) {
      const queue = (await (await fetch(`${server.url}/v1/queue`)).json()) as {
        pools: Array<{ queued: number }>;
      };
      if (queue.pools[0]?.queued === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const refused = await post(server, "/v1/completions", { ...body, max_tokens: 3 });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, "queue_full_global");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal((await running).status, 200);
    assert.equal((await queued).status, 200);
  });
});

test("an idle model unloads after --keep-alive and reloads on demand", async () => {
  await withServer({ "keep-alive": "0.2" }, async (server) => {
    await server.client.completions.create({ model: "tiny", prompt: "x", max_tokens: 2 });
    assert.equal((await getLoadedModels(server)).length, 1);
    for (let attempt = 0; attempt < 100 && (await getLoadedModels(server)).length > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(await getLoadedModels(server), []);
    const again = await server.client.completions.create({ model: "tiny", prompt: "x", max_tokens: 2 });
    assert.equal(again.object, "text_completion");
  });
});

test("a model file damaged in the store gives 400 invalid_model_file and the server stays up", async () => {
  await withServer({}, async (server) => {
    const entry = await server.store.resolve("tiny");
    // Corrupt the tensor count in place, as a disk error or a hostile file would.
    const handle = await open(entry.path, "r+");
    await handle.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, 8, 8);
    await handle.close();
    const response = await post(server, "/v1/chat/completions", {
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, "invalid_model_file");
    assert.match(String(response.body.error.message), /tensor/i);
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
  });
});
