import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ManualClock } from "./manual-clock.ts";
import { MemoryQuotaStore } from "./memory-quota-store.ts";
import { QuotaExceededError } from "./quota-exceeded-error.ts";
import { type PathQuotaLimits, QuotaLedger, type QuotaReservation } from "./quota-ledger.ts";
import type { QuotaStore } from "./quota-store.ts";
import { createTenantPath } from "./tenant-path.ts";

const dayMs = 86_400_000;
const key1 = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k1" });
const key2 = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k2" });

function createLedger(
  limits: PathQuotaLimits,
  clock = new ManualClock(10 * dayMs),
  store: QuotaStore = new MemoryQuotaStore(),
) {
  return { clock, ledger: new QuotaLedger({ store, clock, getLimits: () => limits }) };
}

function isQuotaError(reason: string, retryAfterSeconds?: number) {
  return (error: unknown) =>
    error instanceof QuotaExceededError &&
    error.code === "quota_exceeded" &&
    error.status === 429 &&
    error.reason === reason &&
    (retryAfterSeconds === undefined || error.retryAfterSeconds === retryAfterSeconds);
}

test("tokens per minute: reservations count, settling frees the unused part, the window slides", async () => {
  const { clock, ledger } = createLedger({ apiKey: { tokensPerMinute: 1000 } });
  const first = await ledger.reserve(key1, 600);
  await assert.rejects(ledger.reserve(key1, 500), isQuotaError("apiKey.tokensPerMinute"));
  await ledger.settle(first, 200);
  const second = await ledger.reserve(key1, 800);
  await ledger.settle(second, 800);
  await assert.rejects(ledger.reserve(key1, 100), isQuotaError("apiKey.tokensPerMinute", 60));
  clock.advance(60_000);
  await ledger.reserve(key1, 1000);
});

test("the team's limit binds both keys, all or nothing", async () => {
  const { ledger } = createLedger({ team: { tokensPerMinute: 1000 }, apiKey: { concurrentRequests: 5 } });
  await ledger.reserve(key1, 700);
  await assert.rejects(ledger.reserve(key2, 400), isQuotaError("team.tokensPerMinute"));
  const usage = await ledger.getUsage(key2);
  assert.equal(usage.apiKey.concurrentRequests, 0, "the refused request booked nothing at the key level");
  assert.equal(usage.team.reservedTokens, 700);
});

test("concurrent requests and cancellation", async () => {
  const { ledger } = createLedger({ organization: { concurrentRequests: 2 } });
  const a = await ledger.reserve(key1, 10);
  await ledger.reserve(key2, 10);
  await assert.rejects(ledger.reserve(key1, 10), isQuotaError("organization.concurrentRequests", 1));
  await ledger.cancel(a);
  await ledger.cancel(a);
  const usage = await ledger.getUsage(key1);
  assert.equal(usage.organization.concurrentRequests, 1);
  assert.equal(usage.organization.tokensLastMinute, 0);
  await ledger.reserve(key1, 10);
});

test("tokens per day reset at midnight UTC, and Retry-After says when", async () => {
  const { clock, ledger } = createLedger({ apiKey: { tokensPerDay: 100 } });
  clock.advance(dayMs - 3_600_000);
  await ledger.settle(await ledger.reserve(key1, 100), 100);
  await assert.rejects(ledger.reserve(key1, 1), isQuotaError("apiKey.tokensPerDay", 3600));
  clock.advance(3_600_000);
  await ledger.reserve(key1, 100);
});

test("a request larger than a limit is refused without a Retry-After", async () => {
  const { ledger } = createLedger({ apiKey: { tokensPerMinute: 100 } });
  await assert.rejects(ledger.reserve(key1, 101), (error) => {
    assert.ok(error instanceof QuotaExceededError);
    assert.equal(error.retryAfterSeconds, undefined);
    assert.match(error.message, /more than the limit of 100 per minute/);
    return true;
  });
});

/** A memory store that counts its transactions. */
class CountingStore implements QuotaStore {
  readonly inner = new MemoryQuotaStore();
  updates = 0;
  update<T>(scopes: readonly string[], apply: Parameters<QuotaStore["update"]>[1]): Promise<T> {
    this.updates += 1;
    return this.inner.update(scopes, apply as never);
  }
}

test("a path with no limit books nothing, its usage is written in batches, and a limit added later holds", async () => {
  const store = new CountingStore();
  const limits: PathQuotaLimits = { apiKey: {} };
  const { ledger } = createLedger(limits, new ManualClock(10 * dayMs), store);
  const running = await ledger.reserve(key1, 500);
  const finished = await ledger.reserve(key1, 500);
  assert.equal(store.updates, 0, "reserving wrote nothing");
  let usage = await ledger.getUsage(key1);
  assert.equal(usage.apiKey.concurrentRequests, 0, "unbooked requests are not counted while they run");
  assert.equal(usage.apiKey.reservedTokens, 0);
  store.updates = 0;
  await ledger.settle(finished, 200);
  await ledger.settle(finished, 200);
  await ledger.cancel(await ledger.reserve(key1, 10));
  await ledger.settle(await ledger.reserve(key2, 10), 100);
  assert.equal(store.updates, 0, "usage waits in memory");
  await ledger.flush();
  await ledger.flush();
  assert.equal(store.updates, 1, "one write for both requests' usage, none for the repeat or the cancel");
  usage = await ledger.getUsage(key2);
  assert.equal(usage.apiKey.tokensToday, 100);
  assert.equal(usage.team.tokensToday, 300, "usage without limits still lands in the windows");
  assert.equal(usage.organization.tokensLastMinute, 300);

  // Limits added now: new requests are booked and see the usage settled before.
  limits.team = { tokensPerDay: 1000, concurrentRequests: 1 };
  const booked = await ledger.reserve(key2, 600);
  await assert.rejects(ledger.reserve(key1, 1), isQuotaError("team.concurrentRequests"));
  await ledger.cancel(booked);
  await assert.rejects(ledger.reserve(key1, 701), isQuotaError("team.tokensPerDay"));
  const last = await ledger.reserve(key1, 700);
  // The request that started unbooked settles its usage only; booked counts stay right.
  await ledger.settle(running, 100);
  usage = await ledger.getUsage(key1);
  assert.equal(usage.team.concurrentRequests, 1);
  assert.equal(usage.team.reservedTokens, 700);
  assert.equal(usage.team.tokensToday, 400);
  await ledger.settle(last, 700);
  usage = await ledger.getUsage(key1);
  assert.deepEqual(
    [usage.team.concurrentRequests, usage.team.reservedTokens, usage.team.tokensToday],
    [0, 0, 1100],
  );
});

test("unwritten usage is written by itself after flushDelayMs, and read back by getUsage before that", async () => {
  const store = new CountingStore();
  const ledger = new QuotaLedger({ store, getLimits: () => ({}), flushDelayMs: 20 });
  await ledger.settle(await ledger.reserve(key1, 10), 7);
  assert.equal(store.updates, 0);
  const deadline = Date.now() + 10_000;
  while (store.updates === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(store.updates, 1, "the timer wrote it");
  await ledger.settle(await ledger.reserve(key1, 10), 3);
  assert.equal((await ledger.getUsage(key1)).apiKey.tokensToday, 10, "getUsage flushes first");
});

test("a failed flush keeps the usage for the next one", async () => {
  const store = new CountingStore();
  let failing = true;
  const flaky: QuotaStore = {
    update: (scopes, apply) => (failing ? Promise.reject(new Error("busy")) : store.update(scopes, apply)),
  };
  const ledger = new QuotaLedger({ store: flaky, getLimits: () => ({}), flushDelayMs: 60_000 });
  await ledger.settle(await ledger.reserve(key1, 10), 5);
  await assert.rejects(ledger.flush(), /busy/);
  failing = false;
  await ledger.settle(await ledger.reserve(key1, 10), 6);
  await ledger.flush();
  assert.equal((await ledger.getUsage(key1)).organization.tokensToday, 11);
});

/** A store that yields before each update, so reservations really interleave at the await points. */
class SlowStore implements QuotaStore {
  readonly inner = new MemoryQuotaStore();
  async update<T>(scopes: readonly string[], apply: Parameters<QuotaStore["update"]>[1]): Promise<T> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.inner.update(scopes, apply as never);
  }
}

test("property: a burst of concurrent reservations never overshoots any limit", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({ key: fc.integer({ min: 50, max: 800 }), team: fc.integer({ min: 50, max: 1500 }) }),
      fc.array(
        fc.record({
          key: fc.boolean(),
          tokens: fc.integer({ min: 1, max: 200 }),
          used: fc.double({ min: 0, max: 1, noNaN: true }),
          cancel: fc.boolean(),
        }),
        { maxLength: 50 },
      ),
      async (limits, requests) => {
        const { ledger } = createLedger(
          {
            apiKey: { tokensPerMinute: limits.key, concurrentRequests: 8 },
            team: { tokensPerDay: limits.team },
          },
          new ManualClock(3 * dayMs),
          new SlowStore(),
        );
        const held: { reservation: QuotaReservation; used: number; cancel: boolean }[] = [];
        await Promise.all(
          requests.map(async (request) => {
            try {
              const reservation = await ledger.reserve(request.key ? key1 : key2, request.tokens);
              held.push({
                reservation,
                used: Math.floor(request.used * request.tokens),
                cancel: request.cancel,
              });
            } catch (error) {
              assert.ok(error instanceof QuotaExceededError);
            }
          }),
        );
        const check = async () => {
          for (const path of [key1, key2]) {
            const usage = await ledger.getUsage(path);
            assert.ok(usage.apiKey.tokensLastMinute + usage.apiKey.reservedTokens <= limits.key);
            assert.ok(usage.apiKey.concurrentRequests <= 8);
            assert.ok(usage.team.tokensToday + usage.team.reservedTokens <= limits.team);
          }
        };
        await check();
        await Promise.all(
          held.map(({ reservation, used, cancel }) =>
            cancel ? ledger.cancel(reservation) : ledger.settle(reservation, used),
          ),
        );
        await check();
        const team = (await ledger.getUsage(key1)).team;
        const settled = held.filter((entry) => !entry.cancel).reduce((sum, entry) => sum + entry.used, 0);
        assert.equal(team.tokensToday, settled);
        assert.equal(team.reservedTokens, 0);
        assert.equal(team.concurrentRequests, 0);
      },
    ),
    { numRuns: 100 },
  );
});
