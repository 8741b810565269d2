import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { isOstromError } from "../errors.ts";
import { openSqliteDatabase } from "../storage/sqlite/open-sqlite-database.ts";
import { SqliteQuotaStore } from "../tenancy/sqlite-quota-store.ts";
import { ManualClock } from "./manual-clock.ts";
import { MemoryQuotaStore } from "./memory-quota-store.ts";
import { QuotaExceededError } from "./quota-exceeded-error.ts";
import { type PathQuotaLimits, QuotaLedger, type QuotaReservation } from "./quota-ledger.ts";
import type { QuotaStore } from "./quota-store.ts";
import { createTenantPath, type TenantPath } from "./tenant-path.ts";

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

// --- Waiting for reservations instead of refusing early --------------------------------------------

/** A SQLite quota store on a fresh file, and two connections to it (as two server processes). */
async function openSqliteStores() {
  const folder = await mkdtemp(path.join(tmpdir(), "ostrom-ledger-"));
  const file = path.join(folder, "ostrom.db");
  const databases = [openSqliteDatabase(file), openSqliteDatabase(file)];
  return {
    stores: databases.map((database) => SqliteQuotaStore.open(database)),
    async [Symbol.asyncDispose]() {
      for (const database of databases) database.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Lets pending store updates and drains run (each step is a few promise turns at most). */
async function settleDown(): Promise<void> {
  for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Tracks a promise's outcome without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}

const forever = { maxWaitMs: Number.POSITIVE_INFINITY };

test("a request kept out only by running requests' reservations waits, and gets in when one settles", async () => {
  await using sqlite = await openSqliteStores();
  const clock = new ManualClock(10 * dayMs);
  const { ledger } = createLedger({ apiKey: { tokensPerMinute: 1000 } }, clock, sqlite.stores[0]);
  const running = await ledger.reserve(key1, 600);
  const waiting = track(ledger.reserve(key1, 500, forever));
  await settleDown();
  assert.equal(waiting.done, false, "it waits rather than being refused");
  assert.equal(ledger.waiting, 1);
  assert.equal((await ledger.getUsage(key1)).apiKey.reservedTokens, 600, "waiting books nothing");
  await ledger.settle(running, 200);
  await settleDown();
  assert.ok(waiting.value, String(waiting.error));
  const usage = (await ledger.getUsage(key1)).apiKey;
  assert.deepEqual([usage.tokensLastMinute, usage.reservedTokens, usage.concurrentRequests], [200, 500, 1]);
  assert.equal(ledger.waiting, 0);
  assert.equal(clock.pendingTimers, 0, "no re-check timer is left once nobody waits");
});

test("a request that cannot fit even with nothing reserved, or a concurrency limit, is refused at once", async () => {
  await using sqlite = await openSqliteStores();
  const clock = new ManualClock(10 * dayMs);
  const limits = { apiKey: { tokensPerMinute: 1000, tokensPerDay: 5000, concurrentRequests: 2 } };
  const { ledger } = createLedger(limits, clock, sqlite.stores[0]);
  await ledger.settle(await ledger.reserve(key1, 800), 800);
  const held = await ledger.reserve(key1, 100);
  // Settled usage alone leaves 200: waiting for the 100 reserved cannot make 300 fit.
  await assert.rejects(ledger.reserve(key1, 300, forever), isQuotaError("apiKey.tokensPerMinute", 60));
  await assert.rejects(ledger.reserve(key1, 1001, forever), isQuotaError("apiKey.tokensPerMinute"));
  await ledger.reserve(key1, 50, forever);
  // Two in progress: the concurrency limit answers at once, even to a caller willing to wait.
  await assert.rejects(ledger.reserve(key1, 10, forever), isQuotaError("apiKey.concurrentRequests", 1));
  assert.equal(ledger.waiting, 0);
  await ledger.cancel(held);
  // Per day too: with 4200 settled and 700 reserved, a request of 700 may wait, one of 900 may not.
  clock.advance(60_000);
  const day = createLedger({ apiKey: { tokensPerDay: 5000 } }, clock, sqlite.stores[1]).ledger;
  await day.settle(await day.reserve(key2, 4200), 4200);
  const big = await day.reserve(key2, 700);
  await assert.rejects(day.reserve(key2, 900, forever), isQuotaError("apiKey.tokensPerDay"));
  const waits = track(day.reserve(key2, 700, forever));
  await settleDown();
  assert.equal(waits.done, false);
  // It settles at 200: 4400 settled leaves 600, so the waiter can no longer fit and is refused.
  await day.settle(big, 200);
  await settleDown();
  assert.ok(waits.error, "refused once settled usage alone leaves no room");
  assert.ok(isQuotaError("apiKey.tokensPerDay")(waits.error));
  assert.equal(clock.pendingTimers, 0);
});

test("without a wait bound, reserve answers at once as before", async () => {
  const { ledger } = createLedger({ apiKey: { tokensPerMinute: 1000 } });
  await ledger.reserve(key1, 600);
  await assert.rejects(ledger.reserve(key1, 500), isQuotaError("apiKey.tokensPerMinute", 1));
  await assert.rejects(ledger.reserve(key1, 500, { maxWaitMs: 0 }), isQuotaError("apiKey.tokensPerMinute"));
  assert.equal(ledger.waiting, 0);
});

test("an abort while waiting ends the wait with request_cancelled and books nothing", async () => {
  await using sqlite = await openSqliteStores();
  const clock = new ManualClock(10 * dayMs);
  const { ledger } = createLedger({ team: { tokensPerMinute: 1000 } }, clock, sqlite.stores[0]);
  const running = await ledger.reserve(key1, 900);
  const controller = new AbortController();
  const waiting = track(ledger.reserve(key2, 200, { signal: controller.signal, maxWaitMs: 60_000 }));
  await settleDown();
  assert.equal(ledger.waiting, 1);
  controller.abort();
  await settleDown();
  assert.ok(isOstromError(waiting.error, "request_cancelled"), String(waiting.error));
  assert.equal(ledger.waiting, 0);
  assert.equal(clock.pendingTimers, 0, "its deadline and the re-check timer are gone");
  await ledger.settle(running, 100);
  const usage = await ledger.getUsage(key2);
  assert.deepEqual(
    [usage.apiKey.concurrentRequests, usage.team.reservedTokens, usage.team.tokensLastMinute],
    [0, 0, 100],
  );
  // An already aborted signal is refused before anything is checked.
  await assert.rejects(ledger.reserve(key2, 1, { signal: controller.signal, ...forever }), (error) =>
    isOstromError(error, "request_cancelled"),
  );
});

test("a wait that reaches its bound is refused with 429, the limit hit and Retry-After", async () => {
  await using sqlite = await openSqliteStores();
  const clock = new ManualClock(10 * dayMs);
  const { ledger } = createLedger({ organization: { tokensPerMinute: 1000 } }, clock, sqlite.stores[0]);
  const running = await ledger.reserve(key1, 900);
  const bounded = track(ledger.reserve(key2, 200, { maxWaitMs: 5_000 }));
  const byDeadline = track(ledger.reserve(key1, 150, { deadline: clock.now() + 2_000 }));
  await settleDown();
  clock.advance(1_999);
  await settleDown();
  assert.deepEqual([bounded.done, byDeadline.done], [false, false], "re-checks alone refuse nothing");
  clock.advance(1);
  await settleDown();
  assert.ok(isQuotaError("organization.tokensPerMinute", 1)(byDeadline.error), String(byDeadline.error));
  assert.equal(bounded.done, false);
  clock.advance(3_000);
  await settleDown();
  assert.ok(isQuotaError("organization.tokensPerMinute", 1)(bounded.error), String(bounded.error));
  assert.match((bounded.error as Error).message, /after waiting 5\.0 s for running requests to settle/);
  assert.equal(clock.pendingTimers, 0);
  await ledger.settle(running, 900);
  assert.equal((await ledger.getUsage(key2)).organization.reservedTokens, 0, "the refused booked nothing");
});

test("waiters are served in arrival order; one that does not fit keeps its place without blocking the rest", async () => {
  await using sqlite = await openSqliteStores();
  const clock = new ManualClock(10 * dayMs);
  const { ledger } = createLedger({ team: { tokensPerMinute: 1000 } }, clock, sqlite.stores[0]);
  const a = await ledger.reserve(key1, 600);
  const b = await ledger.reserve(key2, 400);
  const granted: string[] = [];
  const positions: Record<string, number[]> = { w1: [], w2: [], w3: [] };
  const wait = (name: string, tokens: number) =>
    track(
      ledger
        .reserve(key1, tokens, { ...forever, onQueued: (position) => positions[name]?.push(position) })
        .then((reservation) => {
          granted.push(name);
          return reservation;
        }),
    );
  const w1 = wait("w1", 700);
  await settleDown();
  const w2 = wait("w2", 300);
  await settleDown();
  const w3 = wait("w3", 300);
  await settleDown();
  assert.deepEqual(positions, { w1: [1], w2: [2], w3: [3] });
  // 400 freed: w1 (700) still does not fit, w2 (300) behind it does, w3 then does not.
  await ledger.cancel(b);
  await settleDown();
  assert.deepEqual(granted, ["w2"]);
  assert.deepEqual(positions, { w1: [1], w2: [2], w3: [3, 2] });
  // 600 freed, 300 of them used: w1 fits exactly (300 + 300 + 700 > 1000? no: 300 settled + 300 held).
  await ledger.settle(a, 0);
  await settleDown();
  assert.deepEqual(granted, ["w2", "w1"], "the earlier waiter gets the room, not w3 of the same size");
  await ledger.settle(w2.value!, 0);
  await settleDown();
  assert.deepEqual(granted, ["w2", "w1", "w3"]);
  assert.deepEqual(positions.w3, [3, 2, 1]);
  for (const waiter of [w1, w3]) await ledger.settle(waiter.value!, 0);
  assert.equal(clock.pendingTimers, 0);
});

test("an arrival queues behind earlier waiters, so it cannot take room freed for one of them", async () => {
  const clock = new ManualClock(10 * dayMs);
  const { ledger } = createLedger({ apiKey: { tokensPerMinute: 1000 } }, clock);
  const running = await ledger.reserve(key1, 800);
  const first = track(ledger.reserve(key1, 300, forever));
  await settleDown();
  // The settle leaves 500 of usage and room for one more 300; the second arrives while it is written.
  const settling = ledger.settle(running, 500);
  const second = track(ledger.reserve(key1, 300, forever));
  await settling;
  await settleDown();
  assert.ok(first.value, "the earlier waiter got the room");
  assert.equal(second.done, false);
  await ledger.settle(first.value, 0);
  await settleDown();
  assert.ok(second.value, String(second.error));
  assert.equal(clock.pendingTimers, 0);
});

test("a settle by another process is seen by the periodic re-check", async () => {
  await using sqlite = await openSqliteStores();
  const clock = new ManualClock(10 * dayMs);
  const limits = { apiKey: { tokensPerMinute: 1000 } };
  const [one, two] = sqlite.stores.map(
    (store) => new QuotaLedger({ store, clock, getLimits: () => limits, recheckIntervalMs: 250 }),
  );
  const running = await one!.reserve(key1, 700);
  const waiting = track(two!.reserve(key1, 400, forever));
  await settleDown();
  await one!.settle(running, 100);
  await settleDown();
  assert.equal(waiting.done, false, "no wake crosses processes");
  clock.advance(250);
  await settleDown();
  assert.ok(waiting.value, String(waiting.error));
  assert.equal((await one!.getUsage(key1)).apiKey.reservedTokens, 400);
  assert.equal(clock.pendingTimers, 0);
});

test("close ends every wait with shutting_down and leaves no timer", async () => {
  const clock = new ManualClock(10 * dayMs);
  const { ledger } = createLedger({ apiKey: { tokensPerMinute: 100 } }, clock);
  const running = await ledger.reserve(key1, 100);
  const waits = [
    track(ledger.reserve(key1, 50, forever)),
    track(ledger.reserve(key1, 60, { maxWaitMs: 1e6 })),
  ];
  await settleDown();
  assert.ok(clock.pendingTimers > 0);
  ledger.close();
  await settleDown();
  for (const wait of waits) assert.ok(isOstromError(wait.error, "shutting_down"), String(wait.error));
  assert.equal(clock.pendingTimers, 0);
  await assert.rejects(ledger.reserve(key1, 50, forever), isQuotaError("apiKey.tokensPerMinute"));
  await ledger.settle(running, 10);
});

test("property: waiting reservations with concurrent settles never overshoot, and refuse only what cannot fit", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({ key: fc.integer({ min: 100, max: 800 }), team: fc.integer({ min: 200, max: 2000 }) }),
      fc.array(
        fc.record({
          key: fc.boolean(),
          tokens: fc.integer({ min: 1, max: 150 }),
          used: fc.double({ min: 0, max: 1, noNaN: true }),
          hold: fc.integer({ min: 0, max: 5 }),
          cancel: fc.boolean(),
        }),
        { maxLength: 40 },
      ),
      async (limits, requests) => {
        const clock = new ManualClock(3 * dayMs);
        const { ledger } = createLedger(
          { apiKey: { tokensPerMinute: limits.key }, team: { tokensPerDay: limits.team } },
          clock,
          new SlowStore(),
        );
        const check = async () => {
          for (const path of [key1, key2]) {
            const usage = await ledger.getUsage(path);
            assert.ok(usage.apiKey.tokensLastMinute + usage.apiKey.reservedTokens <= limits.key);
            assert.ok(usage.team.tokensToday + usage.team.reservedTokens <= limits.team);
          }
        };
        let used = 0;
        const refused: { path: TenantPath; tokens: number }[] = [];
        await Promise.all(
          requests.map(async (request) => {
            const path = request.key ? key1 : key2;
            let reservation: QuotaReservation;
            try {
              reservation = await ledger.reserve(path, request.tokens, forever);
            } catch (error) {
              assert.ok(error instanceof QuotaExceededError, String(error));
              refused.push({ path, tokens: request.tokens });
              return;
            }
            await check();
            for (let turn = 0; turn < request.hold; turn += 1)
              await new Promise((resolve) => setImmediate(resolve));
            if (request.cancel) await ledger.cancel(reservation);
            else {
              const tokens = Math.floor(request.used * request.tokens);
              used += tokens;
              await ledger.settle(reservation, tokens);
            }
          }),
        );
        assert.equal(ledger.waiting, 0);
        // Time stood still, so settled usage only grew: what was refused cannot fit even now.
        for (const { path, tokens } of refused) {
          const usage = await ledger.getUsage(path);
          assert.ok(
            usage.apiKey.tokensLastMinute + tokens > limits.key ||
              usage.team.tokensToday + tokens > limits.team,
            `a request of ${tokens} was refused though it fits at the end`,
          );
        }
        const team = (await ledger.getUsage(key1)).team;
        assert.deepEqual([team.tokensToday, team.reservedTokens, team.concurrentRequests], [used, 0, 0]);
        assert.equal(clock.pendingTimers, 0);
      },
    ),
    { numRuns: 100 },
  );
});
