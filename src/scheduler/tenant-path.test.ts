import assert from "node:assert/strict";
import { test } from "node:test";
import { createTenantPath, getTenantNodeKeys, toTenantPlace } from "./tenant-path.ts";

test("paths default weights to 1 and refuse empty ids or bad weights", () => {
  const path = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k" });
  assert.equal(path.organizationWeight, 1);
  assert.equal(path.teamWeight, 1);
  assert.throws(() => createTenantPath({ organizationId: "", teamId: "t", apiKeyId: "k" }), RangeError);
  assert.throws(
    () => createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k", teamWeight: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k", organizationWeight: Number.NaN }),
    RangeError,
  );
});

test("node keys keep same-named teams of different organisations apart", () => {
  const a = getTenantNodeKeys(createTenantPath({ organizationId: "a", teamId: "ops", apiKeyId: "k" }));
  const b = getTenantNodeKeys(createTenantPath({ organizationId: "b", teamId: "ops", apiKeyId: "k" }));
  assert.notEqual(a.team, b.team);
  assert.notEqual(a.apiKey, b.apiKey);
});

test("keys and place are built once per path object and equal for equal paths", () => {
  const path = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k", teamWeight: 2 });
  assert.equal(getTenantNodeKeys(path), getTenantNodeKeys(path));
  assert.equal(toTenantPlace(path), toTenantPlace(path));
  const same = createTenantPath({ organizationId: "o", teamId: "t", apiKeyId: "k", teamWeight: 2 });
  assert.deepEqual(getTenantNodeKeys(same), getTenantNodeKeys(path));
  assert.deepEqual(toTenantPlace(same), toTenantPlace(path));
  assert.deepEqual(toTenantPlace(path).groups, [
    { key: "org:o", weight: 1 },
    { key: 'team:["o","t"]', weight: 2 },
  ]);
  assert.ok(Object.isFrozen(toTenantPlace(path)) && Object.isFrozen(getTenantNodeKeys(path)));
});
