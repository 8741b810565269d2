// Managing models over HTTP on the real server: pull through a local HTTP mirror with NDJSON progress,
// import by raw upload, refusals of non-GGUF and oversized uploads (nothing left behind), removal, and
// the admin-only rule once keys exist.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { getTinyModelPath } from "../helpers/test-models.ts";

let server: TestServer;
let mirror: Server;
let mirrorUrl: string;
let model: Buffer;
let onStalledClosed: () => void = () => {};
const stalledClosed = new Promise<void>((resolve) => {
  onStalledClosed = resolve;
});

before(async () => {
  model = await readFile(await getTinyModelPath());
  mirror = createServer((request, response) => {
    if (request.url === "/acme/slow/slow.gguf") {
      // Half the file, then nothing: the pull waits until its client goes away.
      response.writeHead(200, { "content-length": model.length, "content-type": "application/octet-stream" });
      response.write(model.subarray(0, model.length >> 1));
      response.on("close", () => onStalledClosed());
    } else if (request.url === "/acme/tiny/tiny.gguf") {
      response.writeHead(200, { "content-length": model.length, "content-type": "application/octet-stream" });
      response.end(model);
    } else response.writeHead(404).end("not here");
  });
  await new Promise<void>((resolve) => mirror.listen(0, "127.0.0.1", resolve));
  mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
  server = await startTestServer(
    { "tiny:latest": await getTinyModelPath() },
    { mirror: [mirrorUrl], offline: true },
  );
});
after(async () => {
  await server.shutdown();
  await new Promise((resolve) => mirror.close(resolve));
});

async function listModelIds(key?: string): Promise<string[]> {
  const response = await fetch(`${server.url}/v1/models`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  const body = (await response.json()) as { data: Array<{ id: string }> };
  return body.data.map((entry) => entry.id);
}

/** Upload temp files left in the store (an aborted pull's resumable partial is kept on purpose). */
async function listStoreTemp(): Promise<string[]> {
  const names = await readdir(path.dirname(server.store.createTempPath("probe")));
  return names.filter((name) => name.includes(".upload."));
}

function authorize(key: string | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

describe("model management", () => {
  test("a pull streams progress lines, then success, and the model is listed", async () => {
    const response = await fetch(`${server.url}/v1/models/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "acme/tiny/tiny.gguf", name: "pulled-tiny" }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /ndjson/);
    const lines = (await response.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { status: string; completed?: number; total?: number; id?: string });
    const last = lines.at(-1);
    assert.deepEqual(last, { status: "success", id: "pulled-tiny:latest" });
    const downloading = lines.filter((line) => line.status === "downloading");
    assert.ok(downloading.length > 0, JSON.stringify(lines));
    assert.equal(downloading.at(-1)?.completed, model.length);
    assert.equal(downloading.at(-1)?.total, model.length);
    assert.ok((await listModelIds()).includes("pulled-tiny:latest"));
  });

  test("a pull of something no mirror has ends with an error object", async () => {
    const response = await fetch(`${server.url}/v1/models/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "acme/none/missing.gguf" }),
    });
    // The stream had started (progress went out), so the error is its last line, in the API's shape.
    assert.equal(response.status, 200);
    const last = JSON.parse((await response.text()).trim().split("\n").at(-1) ?? "{}");
    assert.equal(last.error.code, "download_failed");
    assert.ok(!(await listModelIds()).some((id) => id.startsWith("missing")));
    assert.deepEqual(await listStoreTemp(), []);

    // A reference refused before anything starts gets its proper status.
    const refused = await fetch(`${server.url}/v1/models/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "not a reference" }),
    });
    assert.equal(refused.status, 400);
    assert.equal(
      ((await refused.json()) as { error: { code: string } }).error.code,
      "invalid_model_reference",
    );
  });

  test("a client that disconnects aborts the pull, and nothing is listed", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/models/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "acme/slow/slow.gguf", name: "slow" }),
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"downloading"')) {
      const { value, done } = await reader.read();
      assert.equal(done, false, text);
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    // The server stops downloading: the mirror sees its connection closed.
    await stalledClosed;
    assert.ok(!(await listModelIds()).includes("slow:latest"));
  });

  test("a GGUF uploaded as the raw body is imported and listed", async () => {
    const response = await fetch(`${server.url}/v1/models/import?name=uploaded`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: model,
    });
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as { id: string; size: number };
    assert.equal(body.id, "uploaded:latest");
    assert.equal(body.size, model.length);
    assert.ok((await listModelIds()).includes("uploaded:latest"));
    assert.deepEqual(await listStoreTemp(), []);
  });

  test("a non-GGUF upload gets 400 invalid_model_file and leaves nothing", async () => {
    const response = await fetch(`${server.url}/v1/models/import?name=junk`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.from("this is not a model, just some text".repeat(100)),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string } };
    assert.equal(body.error.code, "invalid_model_file");
    assert.ok(!(await listModelIds()).includes("junk:latest"));
    assert.deepEqual(await listStoreTemp(), []);
  });

  test("delete removes a model; a second delete is 404 model_not_found", async () => {
    const removed = await fetch(`${server.url}/v1/models/uploaded:latest`, { method: "DELETE" });
    assert.equal(removed.status, 200);
    assert.deepEqual(await removed.json(), { id: "uploaded:latest", object: "model", deleted: true });
    assert.ok(!(await listModelIds()).includes("uploaded:latest"));
    const again = await fetch(`${server.url}/v1/models/uploaded:latest`, { method: "DELETE" });
    assert.equal(again.status, 404);
    assert.equal(((await again.json()) as { error: { code: string } }).error.code, "model_not_found");
  });

  test("Ollama's /api/pull (not streamed) and /api/delete use the same code", async () => {
    const pulled = await fetch(`${server.url}/api/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "acme/tiny/tiny.gguf", name: "ollama-tiny", stream: false }),
    });
    assert.equal(pulled.status, 200);
    assert.deepEqual(await pulled.json(), { status: "success" });
    assert.ok((await listModelIds()).includes("ollama-tiny:latest"));
    const remove = () =>
      fetch(`${server.url}/api/delete`, {
        method: "DELETE",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "ollama-tiny" }),
      });
    assert.equal((await remove()).status, 200);
    assert.ok(!(await listModelIds()).includes("ollama-tiny:latest"));
    assert.equal((await remove()).status, 404);
  });

  test("once keys exist, a member key gets 403 on every management endpoint", async () => {
    const post = async (url: string, key: string | undefined, body: unknown) =>
      fetch(`${server.url}${url}`, {
        method: "POST",
        headers: { ...authorize(key), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    assert.equal((await post("/v1/admin/organizations", undefined, { name: "Acme" })).status, 201);
    assert.equal((await post("/v1/admin/organizations/acme/teams", undefined, { name: "Ops" })).status, 201);
    const admin = await post("/v1/admin/keys", undefined, {
      organization: "acme",
      team: "ops",
      name: "root",
      role: "admin",
    });
    assert.equal(admin.status, 201);
    const adminKey = ((await admin.json()) as { key: string }).key;
    const member = await post("/v1/admin/keys", adminKey, {
      organization: "acme",
      team: "ops",
      name: "alice",
      role: "member",
    });
    assert.equal(member.status, 201);
    const memberKey = ((await member.json()) as { key: string }).key;

    const refusals = [
      await post("/v1/models/pull", memberKey, { model: "acme/tiny/tiny.gguf", name: "sneaky" }),
      await fetch(`${server.url}/v1/models/import?name=sneaky`, {
        method: "POST",
        headers: { ...authorize(memberKey), "content-type": "application/octet-stream" },
        body: model,
      }),
      await fetch(`${server.url}/v1/models/pulled-tiny`, { method: "DELETE", headers: authorize(memberKey) }),
    ];
    for (const refused of refusals) {
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "forbidden");
    }
    const ids = await listModelIds(adminKey);
    assert.ok(ids.includes("pulled-tiny:latest"));
    assert.ok(!ids.includes("sneaky:latest"));

    const removed = await fetch(`${server.url}/v1/models/pulled-tiny`, {
      method: "DELETE",
      headers: authorize(adminKey),
    });
    assert.equal(removed.status, 200);
  });
});

describe("model upload limit", () => {
  let limited: TestServer;
  before(async () => {
    limited = await startTestServer({}, { "max-model-upload-bytes": "1024" });
  });
  after(() => limited.shutdown());

  test("an upload over --max-model-upload-bytes gets 413, declared or streamed, and leaves nothing", async () => {
    const declared = await fetch(`${limited.url}/v1/models/import?name=big`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: model,
    });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error: { code: string } }).error.code, "request_too_large");

    const chunks = [model.subarray(0, 800), model.subarray(800, 4000)];
    const streamed = await fetch(`${limited.url}/v1/models/import?name=big`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new ReadableStream({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.deepEqual(await limited.store.list(), []);
    assert.deepEqual(await readdir(path.dirname(limited.store.createTempPath("probe"))), []);
  });
});
