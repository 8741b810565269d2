import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveThreadCount } from "./resolve-thread-count.ts";

test("with the prebuilt binaries only, auto threads leave one core spare, never fewer than one", () => {
  const auto = (cores: number) => resolveThreadCount({ configured: 0, cores, openMpBuildAvailable: false });
  assert.deepEqual(auto(1), { threads: 1, build: "prebuilt" });
  assert.deepEqual(auto(2), { threads: 1, build: "prebuilt" });
  assert.deepEqual(auto(16), { threads: 15, build: "prebuilt" });
});

test("with the OpenMP build, auto threads use every core on it; one core stays on the prebuilt binary", () => {
  const auto = (cores: number) => resolveThreadCount({ configured: 0, cores, openMpBuildAvailable: true });
  assert.deepEqual(auto(1), { threads: 1, build: "prebuilt" });
  assert.deepEqual(auto(2), { threads: 2, build: "openmp" });
  assert.deepEqual(auto(16), { threads: 16, build: "openmp" });
});

test("an explicit count is kept, on the OpenMP build from two threads when it exists", () => {
  assert.deepEqual(resolveThreadCount({ configured: 3, cores: 2, openMpBuildAvailable: false }), {
    threads: 3,
    build: "prebuilt",
  });
  assert.deepEqual(resolveThreadCount({ configured: 1, cores: 8, openMpBuildAvailable: true }), {
    threads: 1,
    build: "prebuilt",
  });
  assert.deepEqual(resolveThreadCount({ configured: 2, cores: 8, openMpBuildAvailable: true }), {
    threads: 2,
    build: "openmp",
  });
});
