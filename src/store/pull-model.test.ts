// Tests for pullModel against a real HTTP server on 127.0.0.1 (ephemeral port) serving generated
// GGUF files: progress, resume, Range-ignoring servers, checksum and GGUF failures, mirrors, abort.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { isOstromError, OstromError } from "../errors.ts";
import { createRandomLlamaGguf } from "../gguf/create-random-llama.ts";
import { ModelStore } from "./model-store.ts";
import { type PullProgressEvent, pullModel } from "./pull-model.ts";

interface RecordedRequest {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
}

/**
 * A real HTTP file server on 127.0.0.1 with Range/If-Range support and switches for the failure
 * modes a download must survive. Nothing depends on timing: a "stall" sends part of a body and then
 * waits until the test calls `cut()`.
 */
class TestFileServer {
  readonly requests: RecordedRequest[] = [];
  readonly files = new Map<string, Buffer>();
  /** Paths answered with HTTP 500. */
  readonly brokenPrefixes: string[] = [];
  ignoreRange = false;
  /** When set, the next body is sent only up to this many bytes and held open. */
  stallAfterBytes: number | undefined;
  #held: http.ServerResponse | undefined;
  #server = http.createServer((request, response) => this.#handle(request, response));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.cut();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Drops the connection of a stalled response, like a network failure mid-transfer. */
  cut(): void {
    this.#held?.socket?.destroy();
    this.#held = undefined;
  }

  etagOf(body: Buffer): string {
    return `"${createHash("sha256").update(body).digest("hex").slice(0, 20)}"`;
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const urlPath = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    const range = request.headers.range;
    const ifRangeHeader = request.headers["if-range"];
    const ifRange = Array.isArray(ifRangeHeader) ? ifRangeHeader.join(",") : ifRangeHeader;
    const record = (status: number): void => {
      this.requests.push({ path: urlPath, range, ifRange, status });
    };
    if (this.brokenPrefixes.some((prefix) => urlPath.startsWith(prefix))) {
      record(500);
      response.writeHead(500).end("broken mirror");
      return;
    }
    const body = this.files.get(urlPath);
    if (body === undefined) {
      record(404);
      response.writeHead(404).end("not found");
      return;
    }
    const etag = this.etagOf(body);
    const headers: http.OutgoingHttpHeaders = { etag, "last-modified": "Tue, 01 Oct 2024 00:00:00 GMT" };
    if (!this.ignoreRange) headers["accept-ranges"] = "bytes";
    const match = /^bytes=(\d+)-$/.exec(range ?? "");
    let status = 200;
    let start = 0;
    if (match !== null && !this.ignoreRange && (ifRange === undefined || ifRange === etag)) {
      start = Number(match[1]);
      if (start >= body.length) {
        record(416);
        response.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    record(status);
    const payload = body.subarray(start);
    headers["content-length"] = payload.length;
    response.writeHead(status, headers);
    if (this.stallAfterBytes !== undefined) {
      const sendBytes = this.stallAfterBytes - start;
      this.stallAfterBytes = undefined;
      this.#held = response;
      response.write(payload.subarray(0, sendBytes));
      return;
    }
    response.end(payload);
  }
}

let workDir: string;
let model: Buffer;
let modelHex: string;
let otherModel: Buffer;
let server: TestFileServer;
let baseUrl: string;
let store: ModelStore;
let storeCounter = 0;

before(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "ostrom-pull-test-"));
  await createRandomLlamaGguf(path.join(workDir, "model.gguf"), { seed: 7 });
  await createRandomLlamaGguf(path.join(workDir, "other.gguf"), { seed: 8 });
  model = await fs.readFile(path.join(workDir, "model.gguf"));
  otherModel = await fs.readFile(path.join(workDir, "other.gguf"));
  modelHex = createHash("sha256").update(model).digest("hex");
});

after(async () => {
  await fs.rm(workDir, { recursive: true, force: true });
});

beforeEach(async () => {
  server = new TestFileServer();
  baseUrl = await server.start();
  storeCounter += 1;
  store = await ModelStore.open(path.join(workDir, `store-${storeCounter}`, "models"));
});

afterEach(async () => {
  await server.stop();
});

async function listBlobs(): Promise<string[]> {
  return fs.readdir(store.blobsDir);
}

describe("pullModel", () => {
  test("downloads, verifies and names the model, reporting progress", async () => {
    server.files.set("/files/Tiny-Model.gguf", model);
    const events: PullProgressEvent[] = [];
    const entry = await pullModel(store, `${baseUrl}/files/Tiny-Model.gguf`, {
      expectedSha256: modelHex,
      onProgress: (event) => events.push(event),
    });

    assert.equal(entry.ref, "tiny-model:latest");
    assert.equal(entry.digest, `sha256:${modelHex}`);
    assert.deepEqual(entry.source, { kind: "pull", location: `${baseUrl}/files/Tiny-Model.gguf` });
    assert.deepEqual(await fs.readFile(entry.path), model);
    assert.deepEqual(
      (await store.list()).map((listed) => listed.ref),
      ["tiny-model:latest"],
    );
    assert.deepEqual(await fs.readdir(store.tmpDir), [], "no partial, metadata or lock file is left");

    const phases = events.map((event) => event.phase).filter((phase, i, all) => phase !== all[i - 1]);
    assert.deepEqual(phases, ["connecting", "downloading", "verifying", "done"]);
    const lastDownload = events.filter((event) => event.phase === "downloading").at(-1);
    assert.equal(lastDownload?.receivedBytes, model.length);
    assert.equal(lastDownload?.totalBytes, model.length);
    assert.ok(events.every((event) => event.resumedFromBytes === 0));
    assert.deepEqual(
      server.requests.map((request) => [request.path, request.range, request.status]),
      [["/files/Tiny-Model.gguf", undefined, 200]],
    );
  });

  test("resumes with Range/If-Range after the connection is cut; the half download is never listed", async () => {
    server.files.set("/m/model.gguf", model);
    const url = `${baseUrl}/m/model.gguf`;
    const half = Math.floor(model.length / 2);
    server.stallAfterBytes = half;
    let listedMidway: Promise<unknown> | undefined;

    await assert.rejects(
      pullModel(store, url, {
        name: "resumed:v1",
        onProgress: (event) => {
          if (event.phase === "downloading" && event.receivedBytes >= half && listedMidway === undefined) {
            listedMidway = store.list();
            server.cut();
          }
        },
      }),
      (error: unknown) => {
        assert.ok(isOstromError(error, "download_failed"), String(error));
        assert.match(error.message, new RegExp(`interrupted after ${half} of ${model.length} bytes`));
        assert.match(error.message, /pull again to resume/);
        return true;
      },
    );
    assert.deepEqual(await listedMidway, []);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await listBlobs(), []);
    const partial = (await fs.readdir(store.tmpDir)).find((name) => name.endsWith(".partial"));
    assert.ok(partial !== undefined);
    assert.equal((await fs.stat(path.join(store.tmpDir, partial))).size, half);

    const events: PullProgressEvent[] = [];
    const entry = await pullModel(store, url, {
      name: "resumed:v1",
      onProgress: (event) => events.push(event),
    });
    assert.deepEqual(
      server.requests.map((request) => [request.range, request.ifRange, request.status]),
      [
        [undefined, undefined, 200],
        [`bytes=${half}-`, server.etagOf(model), 206],
      ],
    );
    assert.ok(events.some((event) => event.phase === "downloading" && event.resumedFromBytes === half));
    assert.deepEqual(await fs.readFile(entry.path), model);
    assert.equal(entry.digest, `sha256:${modelHex}`);
    assert.deepEqual(await fs.readdir(store.tmpDir), []);
  });

  test("a server that ignores Range (200 instead of 206) makes the download restart cleanly", async () => {
    server.files.set("/m/model.gguf", model);
    const url = `${baseUrl}/m/model.gguf`;
    const half = Math.floor(model.length / 2);
    server.stallAfterBytes = half;
    await assert.rejects(
      pullModel(store, url, {
        onProgress: (event) => {
          if (event.phase === "downloading" && event.receivedBytes >= half) server.cut();
        },
      }),
      (error: unknown) => isOstromError(error, "download_failed"),
    );

    server.ignoreRange = true;
    const events: PullProgressEvent[] = [];
    const entry = await pullModel(store, url, { onProgress: (event) => events.push(event) });
    assert.deepEqual(
      server.requests.map((request) => [request.range, request.status]),
      [
        [undefined, 200],
        [`bytes=${half}-`, 200],
      ],
    );
    assert.ok(
      events.filter((event) => event.phase === "downloading").every((event) => event.resumedFromBytes === 0),
    );
    assert.deepEqual(await fs.readFile(entry.path), model);
  });

  test("a partial longer than the file (416) is discarded and the download restarts", async () => {
    server.files.set("/m/model.gguf", model);
    const url = `${baseUrl}/m/model.gguf`;
    const paths = store.getPartialDownloadPaths(`sha256-${modelHex}`);
    await fs.writeFile(paths.data, Buffer.concat([model, Buffer.from("trailing junk")]));
    await fs.writeFile(
      paths.meta,
      JSON.stringify({ url, etag: server.etagOf(model), expectedSha256: modelHex, bytes: model.length + 13 }),
    );

    const entry = await pullModel(store, url, { expectedSha256: modelHex });
    assert.deepEqual(
      server.requests.map((request) => [request.range, request.status]),
      [
        [`bytes=${model.length + 13}-`, 416],
        [undefined, 200],
      ],
    );
    assert.deepEqual(await fs.readFile(entry.path), model);
  });

  test("a wrong sha256 fails with checksum_mismatch and adds nothing", async () => {
    server.files.set("/m/model.gguf", otherModel);
    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, { expectedSha256: `sha256:${modelHex}` }),
      (error: unknown) => {
        assert.ok(isOstromError(error, "checksum_mismatch"), String(error));
        assert.match(error.message, new RegExp(`expected ${modelHex}`));
        return true;
      },
    );
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await listBlobs(), []);
    assert.deepEqual(await fs.readdir(store.tmpDir), [], "the bad partial is deleted");
  });

  test("verifyDigest sees the digest before the file is added; throwing refuses the pull and deletes the download", async () => {
    server.files.set("/m/model.gguf", model);
    const seen: string[] = [];
    const refusal = new OstromError("signature_invalid", "bad signature");
    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, {
        verifyDigest: async (digest) => {
          seen.push(digest);
          throw refusal;
        },
      }),
      (error: unknown) => error === refusal,
    );
    assert.deepEqual(seen, [`sha256:${modelHex}`]);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await listBlobs(), []);
    assert.deepEqual(await fs.readdir(store.tmpDir), [], "no partial or metadata is kept");

    const entry = await pullModel(store, `${baseUrl}/m/model.gguf`, { verifyDigest: async () => undefined });
    assert.equal(entry.digest, `sha256:${modelHex}`);
    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, {
        name: "again",
        expectedSha256: modelHex,
        verifyDigest: async () => {
          throw refusal;
        },
      }),
      (error: unknown) => error === refusal,
      "a blob already in the store is checked before it is named too",
    );
    assert.deepEqual(
      (await store.list()).map((listed) => listed.ref),
      ["model:latest"],
    );
  });

  test("a file that is not GGUF is rejected", async () => {
    server.files.set("/m/model.gguf", Buffer.from("<html>Please log in</html>"));
    await assert.rejects(pullModel(store, `${baseUrl}/m/model.gguf`), (error: unknown) =>
      isOstromError(error, "invalid_model_file"),
    );
    assert.deepEqual(await listBlobs(), []);
    assert.deepEqual(await fs.readdir(store.tmpDir), []);
  });

  test("404 on every source fails with download_failed listing each source", async () => {
    const emptyFolder = path.join(workDir, `empty-mirror-${storeCounter}`);
    await fs.mkdir(emptyFolder);
    await assert.rejects(
      pullModel(store, `${baseUrl}/origin/model.gguf`, {
        mirrors: [`${baseUrl}/mirror`, emptyFolder],
        expectedSha256: modelHex,
      }),
      (error: unknown) => {
        assert.ok(isOstromError(error, "download_failed"), String(error));
        for (const source of [
          `${baseUrl}/mirror/sha256/${modelHex}: HTTP 404`,
          `${baseUrl}/mirror/model.gguf: HTTP 404`,
          `${path.join(emptyFolder, "sha256", modelHex)}: no such file`,
          `${path.join(emptyFolder, "model.gguf")}: no such file`,
          `${baseUrl}/origin/model.gguf: HTTP 404`,
        ]) {
          assert.ok(error.message.includes(source), `message lists "${source}":\n${error.message}`);
        }
        assert.doesNotMatch(error.message, /resume/);
        return true;
      },
    );
    assert.deepEqual(await fs.readdir(store.tmpDir), []);
  });

  test("a mirror folder is preferred over an HTTP mirror and the origin", async () => {
    const folder = path.join(workDir, `folder-mirror-${storeCounter}`);
    await fs.mkdir(path.join(folder, "sha256"), { recursive: true });
    await fs.writeFile(path.join(folder, "sha256", modelHex), model);
    server.files.set("/mirror/model.gguf", model);
    server.files.set("/origin/model.gguf", model);

    const events: PullProgressEvent[] = [];
    const entry = await pullModel(store, `${baseUrl}/origin/model.gguf`, {
      mirrors: [pathToFileURL(folder).href, `${baseUrl}/mirror`],
      expectedSha256: modelHex,
      onProgress: (event) => events.push(event),
    });
    assert.deepEqual(await fs.readFile(entry.path), model);
    assert.deepEqual(server.requests, [], "neither the HTTP mirror nor the origin was asked");
    assert.equal(events.at(-1)?.source, path.join(folder, "sha256", modelHex));
    assert.deepEqual(entry.source, { kind: "pull", location: `${baseUrl}/origin/model.gguf` });
  });

  test("an HTTP mirror is preferred over the origin, and a failing mirror falls over to the next", async () => {
    server.brokenPrefixes.push("/broken/");
    server.files.set("/mirror/model.gguf", model);
    server.files.set("/origin/model.gguf", model);
    const entry = await pullModel(store, `${baseUrl}/origin/model.gguf`, {
      mirrors: [`${baseUrl}/broken`, `${baseUrl}/mirror/`],
    });
    assert.deepEqual(await fs.readFile(entry.path), model);
    assert.deepEqual(
      server.requests.map((request) => [request.path, request.status]),
      [
        ["/broken/model.gguf", 500],
        ["/mirror/model.gguf", 200],
      ],
    );
  });

  test("offline Hugging Face pulls use the owner/repo/path layout of a mirror and never the hub", async () => {
    server.files.set("/hf/some-owner/some-repo/sub/Model-Q8_0.gguf", model);
    const entry = await pullModel(store, "hf://some-owner/some-repo/sub/Model-Q8_0.gguf", {
      mirrors: [`${baseUrl}/hf`],
      offline: true,
    });
    assert.equal(entry.ref, "model-q8_0:latest");
    assert.deepEqual(entry.source, {
      kind: "pull",
      location: "https://huggingface.co/some-owner/some-repo/resolve/main/sub/Model-Q8_0.gguf",
    });
    assert.deepEqual(
      server.requests.map((request) => [request.path, request.status]),
      [
        ["/hf/Model-Q8_0.gguf", 404],
        ["/hf/some-owner/some-repo/sub/Model-Q8_0.gguf", 200],
      ],
    );

    await assert.rejects(
      pullModel(store, "hf://some-owner/some-repo/other.gguf", { offline: true }),
      (error: unknown) => isOstromError(error, "download_failed"),
    );
  });

  test("a blob already in the store is named without downloading", async () => {
    server.files.set("/m/model.gguf", model);
    await pullModel(store, `${baseUrl}/m/model.gguf`, { expectedSha256: modelHex });
    const again = await pullModel(store, `${baseUrl}/m/model.gguf`, {
      expectedSha256: modelHex,
      name: "copy",
    });
    assert.equal(again.ref, "copy:latest");
    assert.equal(server.requests.length, 1);
  });

  test("aborting via the signal cancels and keeps the partial for a later resume", async () => {
    server.files.set("/m/model.gguf", model);
    const half = Math.floor(model.length / 2);
    server.stallAfterBytes = half;
    const controller = new AbortController();
    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, {
        signal: controller.signal,
        onProgress: (event) => {
          if (event.phase === "downloading" && event.receivedBytes >= half) controller.abort();
        },
      }),
      (error: unknown) => isOstromError(error, "request_cancelled"),
    );
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await listBlobs(), []);
    assert.ok((await fs.readdir(store.tmpDir)).some((name) => name.endsWith(".partial")));
    assert.ok(
      !(await fs.readdir(store.tmpDir)).some((name) => name.endsWith(".lock")),
      "the lock is released",
    );

    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, { signal: controller.signal }),
      (error: unknown) => isOstromError(error, "request_cancelled"),
    );

    const entry = await pullModel(store, `${baseUrl}/m/model.gguf`);
    assert.equal(server.requests.at(-1)?.range, `bytes=${half}-`);
    assert.deepEqual(await fs.readFile(entry.path), model);
  });

  test("bad references and options fail before any request", async () => {
    await assert.rejects(pullModel(store, "no-such-catalog-model"), (error: unknown) =>
      isOstromError(error, "invalid_model_reference"),
    );
    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, { name: "Bad Name" }),
      (error: unknown) => isOstromError(error, "invalid_model_reference"),
    );
    await assert.rejects(
      pullModel(store, `${baseUrl}/m/model.gguf`, { expectedSha256: "abc" }),
      (error: unknown) => isOstromError(error, "invalid_parameter"),
    );
    await assert.rejects(pullModel(store, "stories260k", { expectedSha256: modelHex }), (error: unknown) =>
      isOstromError(error, "invalid_parameter"),
    );
    assert.deepEqual(server.requests, []);
  });
});
