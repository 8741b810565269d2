import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveThreadCount } from "./resolve-thread-count.ts";

test("auto threads leave one core spare, never fewer than one thread; an explicit count is kept", () => {
  assert.equal(resolveThreadCount({ configured: 0, cores: 1 }), 1);
  assert.equal(resolveThreadCount({ configured: 0, cores: 2 }), 1);
  assert.equal(resolveThreadCount({ configured: 0, cores: 16 }), 15);
  assert.equal(resolveThreadCount({ configured: 3, cores: 2 }), 3);
});
