import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveThreadCount } from "./create-engine.ts";

test("auto threads leave one core to the server, never fewer than one thread", () => {
  assert.equal(resolveThreadCount(0, 1), 1);
  assert.equal(resolveThreadCount(0, 2), 1);
  assert.equal(resolveThreadCount(0, 16), 15);
  assert.equal(resolveThreadCount(3, 2), 3, "an explicit count is kept");
});
