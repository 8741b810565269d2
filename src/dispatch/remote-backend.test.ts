import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { parseBackendApiKeys, parseBackendSpecs } from "./remote-backend.ts";

test("--backend entries are NAME=URL with unique names other than local", () => {
  assert.deepEqual(parseBackendSpecs(["gpu1=http://10.0.0.5:8000/v1", " gpu2=https://x.example/v1 "]), [
    { name: "gpu1", baseUrl: "http://10.0.0.5:8000/v1" },
    { name: "gpu2", baseUrl: "https://x.example/v1" },
  ]);
  for (const bad of [
    ["http://x/v1"],
    ["a=not a url"],
    ["a=ftp://x/v1"],
    ["local=http://x/v1"],
    ["a=http://x", "a=http://y"],
  ])
    assert.throws(
      () => parseBackendSpecs(bad),
      (error) => isOstromError(error, "invalid_parameter") && error.param === "backend",
    );
});

test("--backend-api-key entries name a backend, and errors never echo the key", () => {
  const specs = parseBackendSpecs(["gpu1=http://x/v1"]);
  assert.deepEqual(
    [...parseBackendApiKeys(["gpu1=s3cret=with=equals"], specs)],
    [["gpu1", "s3cret=with=equals"]],
  );
  for (const bad of ["gpu9=topsecret", "topsecret", "gpu1="])
    assert.throws(
      () => parseBackendApiKeys([bad], specs),
      (error) => isOstromError(error, "invalid_parameter") && !error.message.includes("topsecret"),
    );
});
