// Sharing, end to end on real servers: requests wait in the fair queue and can see where they stand
// (stream event, response header, GET /v1/queue), remote OpenAI-compatible backends serve their models
// through Ostrom with failover when one dies, and /metrics reports it all.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { endless } from "../helpers/endless.ts";
import { type FakeUpstream, fakeToken, startFakeOpenAIUpstream } from "../helpers/fake-openai-upstream.ts";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { getTinyModelPath } from "../helpers/test-models.ts";

interface QueueJson {
  pools: { backend: string; model: string; capacity: number; running: number; queued: number }[];
  requests: { model: string; state: string; position: number | null; priority: string }[];
}

describe("waiting requests see their place in the queue", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ "tiny:latest": await getTinyModelPath() }, { parallel: "1" });
  });
  after(() => server.shutdown());

  /** A stream that never ends holds the only slot once its first token is read; abort `busy` to end it. */
  async function takeTheSlot() {
    const busy = new AbortController();
    const holder = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "go" }],
        stream: true,
        ...endless,
      }),
      signal: busy.signal,
    });
    assert.equal(holder.status, 200);
    const holderReader = holder.body!.getReader();
    await holderReader.read();
    return { busy, holderReader };
  }

  test("a stream that waits gets a queued chunk and header, /v1/queue shows it, and it runs when the slot frees", async () => {
    const { busy, holderReader } = await takeTheSlot();

    const waiting = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ostrom-priority": "batch" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "next" }],
        stream: true,
        max_tokens: 3,
      }),
    });
    assert.equal(waiting.status, 200);
    assert.equal(waiting.headers.get("x-ostrom-queue-position"), "1");
    const reader = waiting.body!.getReader();
    const firstChunk = new TextDecoder().decode((await reader.read()).value);
    const firstEvent = JSON.parse(firstChunk.replace(/^data: /, "").trim());
    assert.deepEqual(firstEvent.choices, []);
    assert.deepEqual(firstEvent.ostrom, { queue: { position: 1 } });

    const queue = (await (await fetch(`${server.url}/v1/queue`)).json()) as QueueJson;
    assert.deepEqual(
      queue.requests.map((request) => [request.state, request.position, request.priority]).sort(),
      [
        ["queued", 1, "batch"],
        ["running", null, "interactive"],
      ],
    );
    assert.equal(queue.pools[0]?.capacity, 1);
    assert.equal(queue.pools[0]?.running, 1);
    assert.equal(queue.pools[0]?.queued, 1);

    busy.abort();
    await holderReader.cancel().catch(() => {});
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /"finish_reason":"(stop|length)"/);
    assert.match(rest, /data: \[DONE\]/);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /^ostrom_requests_total\{model="tiny:latest",backend="local",endpoint="chat",outcome="cancelled"\} 1$/m,
    );
    assert.match(
      metrics,
      /^ostrom_requests_total\{model="tiny:latest",backend="local",endpoint="chat",outcome="ok"\} 1$/m,
    );
    assert.match(metrics, /^ostrom_queue_wait_seconds_count\{model="tiny:latest"\} 2$/m);
    assert.match(metrics, /^ostrom_backend_healthy\{backend="local"\} 1$/m);
  });

  test("a non-streamed request that waits leaves the queue as soon as its client disconnects", async () => {
    // Nothing of its response has started, so only the server's view of the connection can tell.
    const { busy, holderReader } = await takeTheSlot();
    const queuedCount = async () =>
      ((await (await fetch(`${server.url}/v1/queue`)).json()) as QueueJson).pools[0]?.queued ?? 0;

    const leaving = new AbortController();
    const waiting = fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "next" }], max_tokens: 3 }),
      signal: leaving.signal,
    }).catch((error: unknown) => error);
    for (let attempt = 0; attempt < 100 && (await queuedCount()) === 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await queuedCount(), 1, "the request waits behind the busy slot");

    leaving.abort();
    assert.ok((await waiting) instanceof Error);
    for (let attempt = 0; attempt < 100 && (await queuedCount()) > 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await queuedCount(), 0, "gone from the queue while the slot is still busy");
    const queue = (await (await fetch(`${server.url}/v1/queue`)).json()) as QueueJson;
    assert.equal(queue.pools[0]?.running, 1, "the holder still runs");

    busy.abort();
    await holderReader.cancel().catch(() => {});
  });

  test("an unknown priority class is a 400 naming the header", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ostrom-priority": "urgent" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { param: string; code: string } };
    assert.equal(body.error.param, "X-Ostrom-Priority");
  });
});

describe("remote backends", () => {
  let first: FakeUpstream;
  let second: FakeUpstream;
  let server: TestServer;
  before(async () => {
    first = await startFakeOpenAIUpstream({ models: ["remote-model"], tokens: 4 });
    second = await startFakeOpenAIUpstream({ models: ["remote-model", "only-second"], tokens: 4 });
    server = await startTestServer(
      {},
      { backend: [`gpu1=${first.url}`, `gpu2=${second.url}`], "backend-api-key": ["gpu2=upstream-secret"] },
    );
  });
  after(async () => {
    await server.shutdown();
    await first.close();
    await second.close();
  });

  test("their models are listed and answer through the official client, streamed or not", async () => {
    const ids = (await server.client.models.list()).data.map((model) => model.id);
    assert.ok(ids.includes("remote-model") && ids.includes("only-second"), ids.join(", "));
    const retrieved = await server.client.models.retrieve("only-second");
    assert.equal(retrieved.id, "only-second");
    assert.equal(retrieved.owned_by, "gpu2");
    // Only the backend given a key sends one.
    assert.equal(second.requests.at(-1)?.headers.authorization, "Bearer upstream-secret");
    assert.equal(first.requests.at(-1)?.headers.authorization, undefined);
    const answer = await server.client.chat.completions.create({
      model: "only-second",
      messages: [{ role: "user", content: "hello" }],
    });
    assert.equal(answer.choices[0]?.message.content, [0, 1, 2, 3].map(fakeToken).join(""));
    assert.equal(answer.usage?.completion_tokens, 4);
    // The client did not stream, so neither did the upstream's answer.
    assert.equal((second.requests.at(-1)?.body as { stream?: unknown } | undefined)?.stream, false);
    const stream = await server.client.chat.completions.create({
      model: "remote-model",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, [0, 1, 2, 3].map(fakeToken).join(""));
  });

  test("when one backend dies, requests fail over to the other; with both dead the error says so", async () => {
    await first.behave({ kind: "refuse" });
    for (let index = 0; index < 3; index += 1) {
      const answer = await server.client.chat.completions.create({
        model: "remote-model",
        messages: [{ role: "user", content: `hello ${index}` }],
        max_tokens: 2,
      });
      assert.equal(answer.choices[0]?.message.content, [0, 1].map(fakeToken).join(""));
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^ostrom_backend_healthy\{backend="gpu1"\} 0$/m);
    assert.match(metrics, /^ostrom_backend_healthy\{backend="gpu2"\} 1$/m);

    await second.behave({ kind: "refuse" });
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "remote-model", messages: [{ role: "user", content: "anyone?" }] }),
    });
    assert.equal(response.status, 503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "backend_unavailable");
    assert.match(body.error.message, /gpu1|gpu2/);
    assert.ok(response.headers.get("retry-after"));
  });
});

describe("remote backend timeouts", () => {
  // A streamed answer's headers may take the connect timeout; a whole (non-streamed) answer, which the
  // upstream sends only once generated, the connect timeout plus the response timeout. A timeout takes
  // the backend out of placement, so each case has a server of its own.
  for (const [stream, ms] of [
    [true, 1000],
    [false, 3000],
  ] as const) {
    test(`a backend that does not answer in time fails with the configured time (stream: ${stream})`, async () => {
      const upstream = await startFakeOpenAIUpstream({ models: ["slow-model"], tokens: 2 });
      const server = await startTestServer(
        {},
        {
          backend: [`slow=${upstream.url}`],
          "backend-connect-timeout": "1",
          "backend-idle-timeout": "1",
          "backend-response-timeout": "2",
        },
      );
      try {
        await upstream.behave({ kind: "hang" });
        const response = await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "slow-model",
            stream,
            messages: [{ role: "user", content: "hello?" }],
          }),
        });
        assert.equal(response.status, 503);
        const body = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, "backend_unavailable");
        assert.match(body.error.message, new RegExp(`within ${ms} ms`));
      } finally {
        await server.shutdown();
        await upstream.close();
      }
    });
  }
});
