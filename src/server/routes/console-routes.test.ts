// The console's static file routes, in process (`app.request()`) and over raw HTTP for traversal
// attempts a URL parser would normalise away. Uses a temporary console folder, not the real web/.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { OstromError } from "../../errors.ts";
import { silentLogger } from "../../util/logger.ts";
import { toErrorResponse } from "../error-response.ts";
import { createConsoleRoutes, findConsoleRoot } from "./console-routes.ts";

let base: string;
let root: string;
let app: Hono;

/** An app shaped like create-app's: an API route, the console at `/`, the project's 404 and errors. */
function createTestApp(consoleRoot: string): Hono {
  const testApp = new Hono();
  testApp.get("/v1/models", (c) => c.json({ object: "list", data: [] }));
  testApp.route("/", createConsoleRoutes({ root: consoleRoot }));
  testApp.notFound((c) => {
    throw new OstromError("not_found", `No endpoint ${c.req.method} ${c.req.path}.`);
  });
  testApp.onError((error) => toErrorResponse(error, silentLogger));
  return testApp;
}

before(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), "ostrom-console-"));
  root = path.join(base, "web");
  await mkdir(path.join(root, "js"), { recursive: true });
  await writeFile(path.join(root, "index.html"), "<!doctype html><title>console</title>");
  await writeFile(path.join(root, "js", "main.js"), `export const answer = ${"42 + ".repeat(200)}0;\n`);
  await writeFile(path.join(root, "console.css"), "body { color: black; }\n");
  await writeFile(path.join(root, "tsconfig.json"), "{}");
  await writeFile(path.join(root, ".env"), "SECRET=1");
  await writeFile(path.join(base, "secret.txt"), "outside the console");
  await symlink(path.join(base, "secret.txt"), path.join(root, "leak.txt"));
  app = createTestApp(root);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function expectNotFound(response: Response) {
  assert.equal(response.status, 404);
  const body = (await response.json()) as { error: { code: string; type: string } };
  assert.equal(body.error.code, "not_found");
  assert.equal(body.error.type, "invalid_request_error");
}

describe("console routes", () => {
  test("serves index.html at / with its type, no-cache, an ETag and a content security policy", async () => {
    const response = await app.request("/");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.match(response.headers.get("etag") ?? "", /^W\/".+"$/);
    assert.equal(await response.text(), "<!doctype html><title>console</title>");
  });

  test("serves scripts and styles with their content types", async () => {
    const script = await app.request("/js/main.js");
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.match(await script.text(), /^export const answer/);
    const style = await app.request("/console.css");
    assert.equal(style.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(style.headers.get("content-security-policy"), null);
  });

  test("answers a matching If-None-Match with 304", async () => {
    const first = await app.request("/js/main.js");
    const etag = first.headers.get("etag")!;
    const second = await app.request("/js/main.js", { headers: { "if-none-match": etag } });
    assert.equal(second.status, 304);
    assert.equal(second.headers.get("etag"), etag);
    assert.equal(await second.text(), "");
  });

  test("gzips compressible files for clients that accept it", async () => {
    const plain = await app.request("/js/main.js");
    const zipped = await app.request("/js/main.js", { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    assert.equal(zipped.headers.get("vary"), "accept-encoding");
    const bytes = Buffer.from(await zipped.arrayBuffer());
    assert.equal(gunzipSync(bytes).toString(), await plain.text());
    const refused = await app.request("/js/main.js", { headers: { "accept-encoding": "gzip;q=0" } });
    assert.equal(refused.headers.get("content-encoding"), null);
  });

  test("HEAD answers the headers without a body", async () => {
    const response = await app.request("/console.css", { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(await response.text(), "");
  });

  test("a missing file is a 404 in the API's error shape", async () => {
    await expectNotFound(await app.request("/js/missing.js"));
    await expectNotFound(await app.request("/nothing.png"));
  });

  test("unknown page paths without an extension fall back to index.html", async () => {
    for (const page of ["/chat", "/models/tiny"]) {
      const response = await app.request(page);
      assert.equal(response.status, 200, page);
      assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    }
  });

  test("API paths never fall back to the console: they keep the API's 404", async () => {
    for (const apiPath of ["/v1/nothing-here", "/api/nothing", "/health/x", "/v1"]) {
      const response = await app.request(apiPath);
      await expectNotFound(response);
    }
    assert.equal((await app.request("/v1/models")).status, 200);
  });

  test("files of types the console does not serve, and hidden files, are 404", async () => {
    await expectNotFound(await app.request("/tsconfig.json"));
    await expectNotFound(await app.request("/.env"));
    await expectNotFound(await app.request("/js/.%2e/.env"));
  });

  test("no directory traversal, however the path is spelled", async () => {
    const attempts = [
      "/..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/js/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/%2e%2e%5csecret.txt",
      "/js%2f..%2f..%2fsecret.txt",
      "/%252e%252e%252fsecret.txt",
      "/secret.txt%00.js",
      "/%c0%ae%c0%ae/secret.txt",
      "/leak.txt",
    ];
    for (const attempt of attempts) {
      const response = await app.request(attempt);
      const text = await response.text();
      assert.ok(!text.includes("outside the console"), `${attempt} leaked a file`);
      assert.equal(response.status, 404, attempt);
    }
  });

  test("no directory traversal over raw HTTP, where the client does not normalise the path", async () => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const { port } = server.address() as AddressInfo;
    const get = (rawPath: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request({ host: "127.0.0.1", port, path: rawPath }, (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            body += chunk;
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("error", reject);
        request.end();
      });
    try {
      for (const rawPath of [
        "/../secret.txt",
        "/js/../../secret.txt",
        "/./../secret.txt",
        "/%2e%2e/secret.txt",
      ]) {
        const { body } = await get(rawPath);
        assert.ok(!body.includes("outside the console"), `${rawPath} leaked a file`);
      }
      assert.equal((await get("/js/main.js")).status, 200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("without the console's files, pages are a 404 saying so", async () => {
    const bare = createTestApp(path.join(base, "does-not-exist"));
    const response = await bare.request("/");
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /console/);
  });

  test("finds <repo>/web from this module, as it will from dist/", () => {
    const found = findConsoleRoot();
    assert.ok(found?.endsWith(`${path.sep}web`));
    const fromDist = findConsoleRoot(path.join(path.dirname(found!), "dist", "server", "routes"));
    assert.equal(fromDist, found);
  });
});
