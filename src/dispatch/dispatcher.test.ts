// The dispatcher's logic with fake backends whose engines the tests drive step by step: queue events,
// quota refusal and settlement, failover before (and not after) the first token, cancellation,
// accounting and metrics. The real engine path is covered end to end in test/e2e/sharing.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine, GenerationEvent, ModelHandle } from "../engine/engine.ts";
import { isOstromError, OstromError } from "../errors.ts";
import { ManualClock } from "../scheduler/manual-clock.ts";
import { MemoryQuotaStore } from "../scheduler/memory-quota-store.ts";
import { QuotaExceededError } from "../scheduler/quota-exceeded-error.ts";
import { QuotaLedger } from "../scheduler/quota-ledger.ts";
import { createTenantPath } from "../scheduler/tenant-path.ts";
import type { Backend } from "./backend.ts";
import { Dispatcher, type UsageEntry } from "./dispatcher.ts";

const model: ModelHandle = { ref: "tiny:latest", digest: "sha256:00", path: "/models/tiny.gguf" };
const alice = {
  path: createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "alice" }),
  keyName: "alice",
};
const bob = { path: createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "bob" }), keyName: "bob" };

/** A generation the test releases token by token; `fail` makes it throw instead. */
class Gate {
  #waiters: (() => void)[] = [];
  #open = 0;
  release(count = 1): void {
    this.#open += count;
    while (this.#open > 0 && this.#waiters.length > 0) {
      this.#open -= 1;
      this.#waiters.shift()?.();
    }
  }
  wait(): Promise<void> {
    if (this.#open > 0) {
      this.#open -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

interface FakeBackendOptions {
  name: string;
  kind?: "local" | "remote";
  capacity?: number;
  tokens?: number;
  /** Throw this before the first token. */
  failBeforeFirst?: () => Error;
  /** Throw this after the first token. */
  failAfterFirst?: () => Error;
  gate?: Gate;
}

function createFakeBackend(options: FakeBackendOptions) {
  const calls: string[] = [];
  const failures: unknown[] = [];
  async function* generate(signal: AbortSignal): AsyncGenerator<GenerationEvent> {
    calls.push("generate");
    if (options.failBeforeFirst) throw options.failBeforeFirst();
    const tokens = options.tokens ?? 3;
    for (let index = 0; index < tokens; index += 1) {
      await options.gate?.wait();
      if (signal.aborted) return;
      yield { type: "text", text: `t${index} ` };
      if (options.failAfterFirst) throw options.failAfterFirst();
    }
    yield {
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 5, completionTokens: tokens },
      toolCalls: [],
    };
  }
  const engine = {
    chat: (_request: unknown, signal: AbortSignal) => generate(signal),
    complete: (_request: unknown, signal: AbortSignal) => generate(signal),
    embed: async () => ({ vectors: [[1, 0]], usage: { promptTokens: 2 } }),
  } as unknown as Engine;
  let healthy = true;
  const backend: Backend = {
    name: options.name,
    kind: options.kind ?? "local",
    engine,
    capacity: options.capacity ?? 1,
    serves: () => true,
    models: [],
    get healthy() {
      return healthy;
    },
    reportFailure: (error) => {
      failures.push(error);
      healthy = false;
    },
  };
  return { backend, calls, failures };
}

function createUsageLog() {
  const entries: UsageEntry[] = [];
  return {
    entries,
    record(entry: UsageEntry): void {
      entries.push(entry);
    },
  };
}

const baseOptions = { maxQueued: 10, maxQueuedPerKey: 10, queueTimeoutMs: 0, defaultMaxTokens: 50 };

function chatRequest(maxTokens?: number) {
  return {
    model,
    messages: [{ role: "user" as const, content: "hello" }],
    sampling: maxTokens === undefined ? {} : { maxTokens },
    responseFormat: { type: "text" as const },
    tools: [],
    toolChoice: { type: "auto" as const },
  };
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const list: GenerationEvent[] = [];
  for await (const event of events) list.push(event);
  return list;
}

test("a request runs on the backend and is accounted with its real usage", async () => {
  const fake = createFakeBackend({ name: "local" });
  const usage = createUsageLog();
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], usage });
  const events = await collect(
    dispatcher.chat(chatRequest(), { owner: alice, signal: new AbortController().signal }),
  );
  assert.deepEqual(
    events.map((event) => event.type),
    ["text", "text", "text", "done"],
  );
  assert.equal(usage.entries.length, 1);
  const entry = usage.entries[0];
  assert.equal(entry?.outcome, "ok");
  assert.equal(entry?.apiKeyId, "alice");
  assert.equal(entry?.backend, "local");
  assert.equal(entry?.promptTokens, 5);
  assert.equal(entry?.completionTokens, 3);
  assert.notEqual(entry?.timeToFirstTokenMs, null);
  assert.equal(dispatcher.pendingRequests, 0);
  assert.match(dispatcher.metrics.registry.render(), /ostrom_requests_total\{.*outcome="ok".*\} 1/);
});

test("a consumer that stops reading right after `done` (as non-streaming responses do) is accounted as ok", async () => {
  const fake = createFakeBackend({ name: "local" });
  const usage = createUsageLog();
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], usage });
  for await (const event of dispatcher.chat(chatRequest(), {
    owner: alice,
    signal: new AbortController().signal,
  }))
    if (event.type === "done") break;
  assert.equal(usage.entries[0]?.outcome, "ok");
});

test("a request that waits for a slot hears its position first, then runs when the slot frees", async () => {
  const gate = new Gate();
  const fake = createFakeBackend({ name: "local", capacity: 1, gate, tokens: 1 });
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], positionIntervalMs: 5 });
  const signal = new AbortController().signal;
  const first = dispatcher.chat(chatRequest(), { owner: alice, signal })[Symbol.asyncIterator]();
  const firstEvent = first.next(); // admitted, waits on the gate
  const second = dispatcher.chat(chatRequest(), { owner: bob, signal })[Symbol.asyncIterator]();
  assert.deepEqual((await second.next()).value, { type: "queued", position: 1 });
  const waiting = dispatcher.listActive().find((request) => request.path.apiKeyId === "bob");
  assert.equal(waiting?.state, "queued");
  assert.equal(waiting?.position, 1);
  gate.release(2);
  assert.equal((await firstEvent).value?.type, "text");
  await collect({ [Symbol.asyncIterator]: () => first });
  assert.equal((await second.next()).value?.type, "text");
  await collect({ [Symbol.asyncIterator]: () => second });
  assert.equal(dispatcher.pendingRequests, 0);
});

test("a quota refusal is a 429 naming the limit, counted, accounted and reserving nothing", async () => {
  const fake = createFakeBackend({ name: "local" });
  const usage = createUsageLog();
  const store = new MemoryQuotaStore();
  const ledger = new QuotaLedger({ store, getLimits: () => ({ apiKey: { tokensPerMinute: 200 } }) });
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], ledger, usage });
  const signal = new AbortController().signal;
  await assert.rejects(collect(dispatcher.chat(chatRequest(500), { owner: alice, signal })), (error) => {
    assert.ok(isOstromError(error, "quota_exceeded"));
    assert.match(error.message, /limit of 200 per minute/);
    return true;
  });
  assert.equal(fake.calls.length, 0);
  assert.equal(usage.entries[0]?.outcome, "rejected");
  assert.match(
    dispatcher.metrics.registry.render(),
    /ostrom_rejections_total\{reason="quota:apiKey.tokensPerMinute"\} 1/,
  );
  // The refused request held nothing: one that fits goes through, and is settled at its real usage.
  await collect(dispatcher.chat(chatRequest(10), { owner: alice, signal }));
  const used = await ledger.getUsage(alice.path);
  assert.equal(used.apiKey.tokensLastMinute, 8);
  assert.equal(used.apiKey.reservedTokens, 0);
});

test("a remote backend failing before the first token fails over to another serving the model", async () => {
  const down = createFakeBackend({
    name: "gpu1",
    kind: "remote",
    failBeforeFirst: () => new OstromError("backend_unavailable", "connection refused"),
  });
  const up = createFakeBackend({ name: "gpu2", kind: "remote" });
  const usage = createUsageLog();
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [down.backend, up.backend], usage });
  const events = await collect(
    dispatcher.chat(chatRequest(), { owner: alice, signal: new AbortController().signal }),
  );
  assert.equal(events.at(-1)?.type, "done");
  assert.equal(down.calls.length, 1);
  assert.equal(up.calls.length, 1);
  assert.equal(down.failures.length, 1);
  assert.equal(down.backend.healthy, false);
  assert.equal(usage.entries[0]?.backend, "gpu2");
  // The next request skips the unhealthy backend altogether.
  await collect(dispatcher.chat(chatRequest(), { owner: alice, signal: new AbortController().signal }));
  assert.equal(down.calls.length, 1);
});

test("no failover once a token was sent; with every backend down the error says so", async () => {
  const breaks = createFakeBackend({
    name: "gpu1",
    kind: "remote",
    failAfterFirst: () => new OstromError("backend_unavailable", "stream broke"),
  });
  const other = createFakeBackend({ name: "gpu2", kind: "remote", capacity: 1 });
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [breaks.backend, other.backend] });
  await assert.rejects(
    collect(dispatcher.chat(chatRequest(), { owner: alice, signal: new AbortController().signal })),
    /stream broke/,
  );
  assert.equal(other.calls.length, 0);

  const only = createFakeBackend({
    name: "gpu3",
    kind: "remote",
    failBeforeFirst: () => new OstromError("backend_unavailable", "refused"),
  });
  const lonely = new Dispatcher({ ...baseOptions, backends: [only.backend] });
  await assert.rejects(
    collect(lonely.chat(chatRequest(), { owner: alice, signal: new AbortController().signal })),
    (error) => isOstromError(error, "backend_unavailable") && /gpu3/.test(error.message),
  );
});

test("a consumer that stops reading frees the slot, cancels the reservation's rest and is accounted as cancelled", async () => {
  const gate = new Gate();
  const fake = createFakeBackend({ name: "local", capacity: 1, gate, tokens: 5 });
  const usage = createUsageLog();
  const ledger = new QuotaLedger({
    store: new MemoryQuotaStore(),
    getLimits: () => ({ apiKey: { concurrentRequests: 1 } }),
  });
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], usage, ledger });
  const controller = new AbortController();
  const iterator = dispatcher
    .chat(chatRequest(), { owner: alice, signal: controller.signal })
    [Symbol.asyncIterator]();
  gate.release();
  assert.equal((await iterator.next()).value?.type, "text");
  controller.abort();
  await iterator.return?.(undefined);
  assert.equal(dispatcher.pendingRequests, 0);
  assert.equal(usage.entries[0]?.outcome, "cancelled");
  // The concurrency quota and the slot are free again.
  gate.release(10);
  const events = await collect(
    dispatcher.chat(chatRequest(), { owner: alice, signal: new AbortController().signal }),
  );
  assert.equal(events.at(-1)?.type, "done");
});

test("embeddings go through the same path and are accounted", async () => {
  const fake = createFakeBackend({ name: "local" });
  const usage = createUsageLog();
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], usage });
  const result = await dispatcher.embed(
    { model, inputs: ["a"] },
    { owner: bob, signal: new AbortController().signal },
  );
  assert.deepEqual(result.vectors, [[1, 0]]);
  assert.equal(usage.entries[0]?.endpoint, "embedding");
  assert.equal(usage.entries[0]?.promptTokens, 2);
});

test("with several tenants, one slot is kept for a newcomer; a single user gets every slot", async () => {
  for (const shared of [false, true]) {
    const gate = new Gate();
    const fake = createFakeBackend({ name: "local", capacity: 2, gate, tokens: 1 });
    const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], isShared: () => shared });
    const signal = new AbortController().signal;
    const a1 = dispatcher.chat(chatRequest(), { owner: alice, signal })[Symbol.asyncIterator]();
    const a2 = dispatcher.chat(chatRequest(), { owner: alice, signal })[Symbol.asyncIterator]();
    const pending = [a1.next(), a2.next()];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const states = dispatcher
      .listActive()
      .map((request) => request.state)
      .sort();
    assert.deepEqual(states, shared ? ["queued", "running"] : ["running", "running"], `shared=${shared}`);
    gate.release(10);
    await Promise.all(pending);
    await collect({ [Symbol.asyncIterator]: () => a1 });
    await collect({ [Symbol.asyncIterator]: () => a2 });
  }
});

test("a request's events end only once its usage record is written; a failed record fails them", async () => {
  const fake = createFakeBackend({ name: "local", tokens: 1 });
  const seen: string[] = [];
  const usage = {
    record(entry: UsageEntry): void {
      seen.push(`record ${entry.outcome}`);
      assert.equal(dispatcher.pendingRequests, 1, "a draining shutdown waits for the record too");
    },
  };
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], usage });
  for await (const event of dispatcher.chat(chatRequest(), {
    owner: alice,
    signal: new AbortController().signal,
  }))
    seen.push(event.type);
  seen.push("end");
  assert.deepEqual(seen, ["text", "done", "record ok", "end"]);
  assert.equal(dispatcher.pendingRequests, 0);

  const failing = new Dispatcher({
    ...baseOptions,
    backends: [fake.backend],
    usage: {
      record: () => {
        throw new Error("disk full");
      },
    },
  });
  await assert.rejects(
    collect(failing.chat(chatRequest(), { owner: alice, signal: new AbortController().signal })),
    /disk full/,
  );
  assert.equal(failing.pendingRequests, 0);
});

test("a request kept out of its quota only by a running one's reservation waits, hears its place, then runs", async () => {
  const gate = new Gate();
  const fake = createFakeBackend({ name: "local", capacity: 2, gate, tokens: 1 });
  const usage = createUsageLog();
  const ledger = new QuotaLedger({
    store: new MemoryQuotaStore(),
    getLimits: () => ({ apiKey: { tokensPerMinute: 200 } }),
  });
  const dispatcher = new Dispatcher({ ...baseOptions, backends: [fake.backend], ledger, usage });
  const signal = new AbortController().signal;
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  // Reserves 85 (prompt bound) + 100 of the 200, runs and holds them until the gate opens.
  const first = dispatcher.chat(chatRequest(100), { owner: alice, signal })[Symbol.asyncIterator]();
  const firstEvent = first.next();
  while (fake.calls.length === 0) await nextTurn();
  // 85 + 10 more would pass 200 only because of that reservation: it waits instead of a 429.
  const second = dispatcher.chat(chatRequest(10), { owner: alice, signal })[Symbol.asyncIterator]();
  assert.deepEqual((await second.next()).value, { type: "queued", position: 1 });
  assert.equal(ledger.waiting, 1);
  // A consumer that stops reading while it waits leaves the queue at once.
  const dropped = dispatcher.chat(chatRequest(10), { owner: alice, signal })[Symbol.asyncIterator]();
  assert.deepEqual((await dropped.next()).value, { type: "queued", position: 2 });
  await dropped.return?.(undefined);
  while (ledger.waiting > 1) await nextTurn();
  const third = new AbortController();
  const cancelled = collect(dispatcher.chat(chatRequest(10), { owner: alice, signal: third.signal }));
  while (ledger.waiting < 2) await nextTurn();
  third.abort();
  await assert.rejects(cancelled, (error) => isOstromError(error, "request_cancelled"));
  gate.release(2);
  assert.equal((await firstEvent).value?.type, "text");
  await collect({ [Symbol.asyncIterator]: () => first });
  // The first settled at its real 6 tokens: the second gets its reservation and runs.
  assert.equal((await second.next()).value?.type, "text");
  await collect({ [Symbol.asyncIterator]: () => second });
  assert.deepEqual(
    usage.entries.map((entry) => entry.outcome),
    ["cancelled", "cancelled", "ok", "ok"],
  );
  const used = await ledger.getUsage(alice.path);
  assert.deepEqual([used.apiKey.tokensLastMinute, used.apiKey.reservedTokens], [12, 0]);
  assert.equal(fake.calls.length, 2, "the cancelled request never ran");
});

test("a quota wait ends at the queue timeout with a 429 naming the limit, and on close with shutting_down", async () => {
  const gate = new Gate();
  const fake = createFakeBackend({ name: "local", capacity: 2, gate, tokens: 1 });
  const usage = createUsageLog();
  const clock = new ManualClock(1_000_000);
  const ledger = new QuotaLedger({
    store: new MemoryQuotaStore(),
    clock,
    getLimits: () => ({ team: { tokensPerMinute: 200 } }),
  });
  const dispatcher = new Dispatcher({
    ...baseOptions,
    queueTimeoutMs: 5_000,
    backends: [fake.backend],
    ledger,
    usage,
  });
  const signal = new AbortController().signal;
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  const first = collect(dispatcher.chat(chatRequest(100), { owner: alice, signal }));
  while (fake.calls.length === 0) await nextTurn();
  const late = collect(dispatcher.chat(chatRequest(10), { owner: bob, signal }));
  while (ledger.waiting === 0) await nextTurn();
  clock.advance(5_000);
  await assert.rejects(late, (error) => {
    assert.ok(error instanceof QuotaExceededError);
    assert.equal(error.reason, "team.tokensPerMinute");
    assert.equal(error.retryAfterSeconds, 1);
    return true;
  });
  assert.match(
    dispatcher.metrics.registry.render(),
    /ostrom_rejections_total\{reason="quota:team.tokensPerMinute"\} 1/,
  );
  const closing = collect(dispatcher.chat(chatRequest(10), { owner: bob, signal }));
  while (ledger.waiting === 0) await nextTurn();
  dispatcher.close();
  await assert.rejects(closing, (error) => isOstromError(error, "shutting_down"));
  gate.release(1);
  await first;
  assert.deepEqual(
    usage.entries.map((entry) => entry.outcome),
    ["rejected", "rejected", "ok"],
  );
  assert.equal(clock.pendingTimers, 0);
});
