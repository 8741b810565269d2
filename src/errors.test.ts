import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { errorCatalog, formatErrorCatalogMarkdown, invalidParameter, OstromError } from "./errors.ts";

test("every error code is documented in docs/errors.md, which is up to date", async () => {
  const written = await readFile(new URL("../docs/errors.md", import.meta.url), "utf8");
  assert.equal(written, formatErrorCatalogMarkdown(), "run `npm run docs:errors` to regenerate it");
  for (const code of Object.keys(errorCatalog)) assert.match(written, new RegExp(`\\| \`${code}\` \\|`));
});

test("errors carry their catalog status and type, and the parameter at fault", () => {
  const error = invalidParameter("temperature", "too hot");
  assert.equal(error.status, 400);
  assert.equal(error.type, "invalid_request_error");
  assert.equal(error.param, "temperature");
  const busy = new OstromError("too_many_requests", "busy", { retryAfterSeconds: 3 });
  assert.equal(busy.status, 429);
  assert.equal(busy.retryAfterSeconds, 3);
});

test("statuses are valid HTTP error statuses", () => {
  for (const [code, entry] of Object.entries(errorCatalog)) {
    assert.ok(entry.status >= 400 && entry.status < 600, code);
  }
});
