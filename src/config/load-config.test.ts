import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { formatConfigMarkdown } from "./describe-config.ts";
import { loadConfig, parseByteSize } from "./load-config.ts";

test("defaults apply when neither flag nor environment is set", () => {
  const config = loadConfig({ args: {}, env: {} });
  assert.equal(config.port, 11435);
  assert.equal(config.host, "127.0.0.1");
  assert.deepEqual(config.mirrors, []);
  assert.match(config.dataDir, /\.ostrom$/);
});

test("a flag wins over the environment, which wins over the default", () => {
  const env = { OSTROM_PORT: "9000", OSTROM_HOME: "/tmp/x", OSTROM_OFFLINE: "yes" };
  const config = loadConfig({ args: { port: "9100" }, env });
  assert.equal(config.port, 9100);
  assert.equal(config.dataDir, "/tmp/x");
  assert.equal(config.offline, true);
});

test("lists come from repeated flags or comma-separated variables", () => {
  assert.deepEqual(loadConfig({ args: { mirror: ["http://a", "/b"] }, env: {} }).mirrors, ["http://a", "/b"]);
  assert.deepEqual(loadConfig({ env: { OSTROM_MIRRORS: "http://a, /b" } }).mirrors, ["http://a", "/b"]);
});

test("sizes accept units", () => {
  assert.equal(parseByteSize("512MiB"), 512 * 1024 * 1024);
  assert.equal(parseByteSize("2 GB"), 2e9);
  assert.equal(parseByteSize("12"), 12);
  assert.equal(parseByteSize("12 parsecs"), undefined);
  assert.equal(loadConfig({ env: { OSTROM_MEMORY_LIMIT: "1GiB" } }).memoryLimit, 1024 ** 3);
});

test("invalid values name their source and what was expected", () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OSTROM_PORT: "eighty" }, /OSTROM_PORT: expected a number/],
    [{ OSTROM_PORT: "70000" }, /OSTROM_PORT: expected a value ≤ 65535/],
    [{ OSTROM_PARALLEL: "1.5" }, /expected an integer/],
    [{ OSTROM_OFFLINE: "maybe" }, /expected a boolean/],
    [{ OSTROM_LOG_LEVEL: "loud" }, /expected one of error, warn, info, debug/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig({ env }),
      (error: unknown) => isOstromError(error, "invalid_configuration") && message.test(error.message),
    );
  }
});

test("docs/configuration.md is generated from the schema and up to date", async () => {
  const written = await readFile(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  assert.equal(written, formatConfigMarkdown(), "run `npm run docs:config` to regenerate it");
});
