import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FairScheduler } from "./fair-scheduler.ts";
import { flattenTenantShares } from "./flatten-tenant-shares.ts";
import { ManualClock } from "./manual-clock.ts";
import { createTenantPath, toTenantPlace } from "./tenant-path.ts";

test("organisations by weight, teams within by weight, keys within a team equally", () => {
  const shares = flattenTenantShares([
    {
      key: "k1",
      groups: [
        { key: "o1", weight: 3 },
        { key: "t1", weight: 1 },
      ],
    },
    {
      key: "k2",
      groups: [
        { key: "o1", weight: 3 },
        { key: "t1", weight: 1 },
      ],
    },
    {
      key: "k3",
      groups: [
        { key: "o1", weight: 3 },
        { key: "t2", weight: 2 },
      ],
    },
    {
      key: "k4",
      groups: [
        { key: "o2", weight: 1 },
        { key: "t3", weight: 1 },
      ],
    },
  ]);
  assert.deepEqual(Object.fromEntries(shares), { k1: 0.125, k2: 0.125, k3: 0.5, k4: 0.25 });
});

test("the same tenant given twice is one tenant; tenants without groups stand at the top with weight 1", () => {
  const shares = flattenTenantShares([
    { key: "a", groups: [{ key: "o", weight: 1 }] },
    { key: "a", groups: [{ key: "o", weight: 1 }] },
    { key: "loner", groups: [] },
    { key: "o", groups: [] },
  ]);
  assert.deepEqual(Object.fromEntries(shares), { a: 1 / 3, loner: 1 / 3, o: 1 / 3 });
  assert.equal(flattenTenantShares([]).size, 0);
});

test("weights that are not finite and > 0 count as 1", () => {
  const shares = flattenTenantShares([
    { key: "a", groups: [{ key: "o1", weight: Number.NaN }] },
    { key: "b", groups: [{ key: "o2", weight: -2 }] },
  ]);
  assert.deepEqual(Object.fromEntries(shares), { a: 0.5, b: 0.5 });
});

test("property: agrees with FairScheduler.getShare when the same tenants are active", () => {
  const pathArbitrary = fc.record({
    organization: fc.constantFrom("o1", "o2", "o3"),
    team: fc.constantFrom("t1", "t2"),
    key: fc.constantFrom("k1", "k2", "k3"),
  });
  const weightOf = (name: string, weights: readonly number[]) => weights[Number(name.slice(1)) - 1] ?? 1;
  fc.assert(
    fc.property(
      fc.array(pathArbitrary, { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 2 }),
      (specs, organizationWeights, teamWeights) => {
        // A team's weight is its own, whatever the organisation; keep it consistent per (org, team).
        const paths = specs.map((spec) =>
          createTenantPath({
            organizationId: spec.organization,
            organizationWeight: weightOf(spec.organization, organizationWeights),
            teamId: spec.team,
            teamWeight: weightOf(spec.team, teamWeights),
            apiKeyId: spec.key,
          }),
        );
        const scheduler = new FairScheduler({
          capacity: 1,
          maxQueued: 100,
          maxQueuedPerKey: 100,
          clock: new ManualClock(),
        });
        for (const path of paths)
          scheduler.enqueue({ path, priority: "interactive", promptTokens: 1, estimatedTokens: 1 });
        const shares = flattenTenantShares(paths.map(toTenantPlace));
        for (const path of paths) {
          const expected = scheduler.getShare(path);
          const actual = shares.get(toTenantPlace(path).key) ?? 0;
          assert.ok(Math.abs(expected - actual) < 1e-12, `${expected} vs ${actual}`);
        }
        const total = [...shares.values()].reduce((sum, share) => sum + share, 0);
        assert.ok(Math.abs(total - 1) < 1e-12);
      },
    ),
  );
});
