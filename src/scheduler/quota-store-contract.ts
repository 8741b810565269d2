// The contract every QuotaStore must pass: unseen scopes read as empty, changes are kept and seen by
// every handle on the same storage, a throwing `apply` keeps nothing, concurrent updates lose nothing,
// and — what the store exists for — two QuotaLedgers on two handles (as two server processes would
// have) never let a burst of concurrent reservations overshoot a limit. Each implementation's test file
// runs it against real storage.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "./manual-clock.ts";
import { QuotaExceededError } from "./quota-exceeded-error.ts";
import { QuotaLedger, type QuotaReservation } from "./quota-ledger.ts";
import { createEmptyScopeUsage, type QuotaStore } from "./quota-store.ts";
import { createTenantPath } from "./tenant-path.ts";

export interface QuotaStoreFixture {
  /** Two handles on the same usage, e.g. two connections to one database (or one store twice). */
  stores: readonly [QuotaStore, QuotaStore];
  close(): void | Promise<void>;
}

export function runQuotaStoreContract(
  name: string,
  open: () => QuotaStoreFixture | Promise<QuotaStoreFixture>,
): void {
  const withFixture = (work: (stores: readonly [QuotaStore, QuotaStore]) => Promise<void>) => async () => {
    const fixture = await open();
    try {
      await work(fixture.stores);
    } finally {
      await fixture.close();
    }
  };

  test(
    `${name}: unseen scopes read as empty and apply's result is returned`,
    withFixture(async ([store]) => {
      const result = await store.update(["a", "b"], (usage) => {
        assert.deepEqual([...usage.keys()].sort(), ["a", "b"]);
        assert.deepEqual(usage.get("a"), createEmptyScopeUsage());
        return 42;
      });
      assert.equal(result, 42);
    }),
  );

  test(
    `${name}: changes are kept and seen through the other handle`,
    withFixture(async ([first, second]) => {
      await first.update(["a", "b"], (usage) => {
        usage.get("a")!.reservedTokens = 10;
        usage.get("a")!.reservedRequests = 1;
        usage.get("b")!.minuteBuckets.push([5000, 7]);
        usage.get("b")!.dayStart = 0;
        usage.get("b")!.dayTokens = 7;
      });
      const seen = await second.update(["a", "b", "c"], (usage) => structuredClone([...usage.entries()]));
      assert.deepEqual(Object.fromEntries(seen), {
        a: { ...createEmptyScopeUsage(), reservedTokens: 10, reservedRequests: 1 },
        b: { ...createEmptyScopeUsage(), minuteBuckets: [[5000, 7]], dayTokens: 7 },
        c: createEmptyScopeUsage(),
      });
    }),
  );

  test(
    `${name}: an apply that throws keeps nothing and its error propagates`,
    withFixture(async ([store]) => {
      await store.update(["a"], (usage) => {
        usage.get("a")!.reservedRequests = 1;
      });
      const failure = new Error("refused");
      await assert.rejects(
        store.update(["a", "b"], (usage) => {
          usage.get("a")!.reservedRequests = 99;
          usage.get("b")!.reservedRequests = 99;
          throw failure;
        }),
        (error) => error === failure,
      );
      const after = await store.update(["a", "b"], (usage) => [
        usage.get("a")!.reservedRequests,
        usage.get("b")!.reservedRequests,
      ]);
      assert.deepEqual(after, [1, 0]);
    }),
  );

  test(
    `${name}: concurrent updates through both handles lose no change`,
    withFixture(async (stores) => {
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          stores[index % 2]!.update(["shared"], (usage) => {
            usage.get("shared")!.reservedRequests += 1;
          }),
        ),
      );
      const total = await stores[0].update(["shared"], (usage) => usage.get("shared")!.reservedRequests);
      assert.equal(total, 100);
    }),
  );

  test(
    `${name}: a concurrent burst through two ledgers never overshoots a small limit`,
    withFixture(async (stores) => {
      const clock = new ManualClock(10 * 86_400_000);
      const limits = { apiKey: { tokensPerMinute: 200 }, team: { concurrentRequests: 15 } };
      const ledgers = stores.map((store) => new QuotaLedger({ store, clock, getLimits: () => limits }));
      const paths = [1, 2].map((index) =>
        createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: `k${index}` }),
      );
      // 60 requests of 10 tokens from each key: a key's 200 tokens allow 20, the team's 15 slots fewer.
      const outcomes = await Promise.all(
        Array.from({ length: 120 }, async (_, index) => {
          try {
            return await ledgers[index % 2]!.reserve(paths[Math.floor(index / 60)]!, 10);
          } catch (error) {
            assert.ok(error instanceof QuotaExceededError, String(error));
            return error.reason;
          }
        }),
      );
      const held = outcomes.filter((outcome): outcome is QuotaReservation => typeof outcome === "object");
      assert.equal(held.length, 15, "exactly the team's concurrency limit got through");
      const usage = await ledgers[0]!.getUsage(paths[0]!);
      assert.equal(usage.team.concurrentRequests, 15);
      assert.equal(usage.team.reservedTokens, 150);

      // Settle them through the ledger that made each reservation, then a key-level burst.
      await Promise.all(
        held.map((reservation) => ledgers[outcomes.indexOf(reservation) % 2]!.settle(reservation, 5)),
      );
      const burst = await Promise.all(
        Array.from({ length: 60 }, async (_, index) => {
          try {
            return await ledgers[index % 2]!.reserve(paths[0]!, 10);
          } catch {
            return undefined;
          }
        }),
      );
      const settledOnKey = held.filter((reservation) => reservation.path === paths[0]).length * 5;
      const granted = burst.filter((reservation) => reservation !== undefined).length;
      const keyUsage = (await ledgers[1]!.getUsage(paths[0]!)).apiKey;
      assert.ok(keyUsage.tokensLastMinute + keyUsage.reservedTokens <= 200, "the key's minute limit held");
      assert.equal(keyUsage.tokensLastMinute, settledOnKey);
      assert.equal(keyUsage.reservedTokens, granted * 10);
      assert.equal(granted, Math.min(15, Math.floor((200 - settledOnKey) / 10)));
    }),
  );
}
