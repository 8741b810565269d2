import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveThreadCount } from "./resolve-thread-count.ts";

test("auto threads: one core spare with per-token threads, all cores with a persistent pool", () => {
  assert.equal(resolveThreadCount({ configured: 0, cores: 2, persistentThreadPool: false }), 1);
  assert.equal(resolveThreadCount({ configured: 0, cores: 1, persistentThreadPool: false }), 1);
  assert.equal(resolveThreadCount({ configured: 0, cores: 16, persistentThreadPool: false }), 15);
  assert.equal(resolveThreadCount({ configured: 0, cores: 2, persistentThreadPool: true }), 2);
  assert.equal(
    resolveThreadCount({ configured: 3, cores: 2, persistentThreadPool: true }),
    3,
    "an explicit count is kept",
  );
});
