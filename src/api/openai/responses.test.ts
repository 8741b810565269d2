import assert from "node:assert/strict";
import { test } from "node:test";
import { createResponseId } from "./responses.ts";

test("response ids: prefix and 12 random bytes in base64url, all different across pool refills", () => {
  const ids = Array.from({ length: 1000 }, (_, index) => createResponseId(index % 2 ? "cmpl" : "chatcmpl"));
  for (const id of ids) assert.match(id, /^(chatcmpl|cmpl)-[A-Za-z0-9_-]{16}$/);
  assert.equal(new Set(ids.map((id) => id.split("-").slice(1).join("-"))).size, ids.length);
});
