// The socket transport's own HTTP/1.1 reading, against a raw TCP server that writes answers byte for
// byte (what both plain-HTTP transports share is tested in http-upstream-transport.test.ts).
import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { SocketUpstreamTransport } from "./socket-upstream-transport.ts";
import type { UpstreamResponse } from "./upstream-transport.ts";

let server: Server;
let baseUrl: string;
let connections = 0;
/** What the server writes for each request it reads (a request ends at its blank line; no bodies). */
let answer: (socket: Socket, requestOnConnection: number) => void;
const received: string[] = [];

before(async () => {
  server = createServer((socket) => {
    connections += 1;
    let buffered = "";
    let count = 0;
    socket.on("data", (data) => {
      buffered += data.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        received.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 4);
        count += 1;
        answer(socket, count);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const get = (path: string) => ({
  method: "GET" as const,
  path,
  headers: { accept: "text/plain" },
  body: undefined,
  signal: new AbortController().signal,
});

async function readAll(response: UpstreamResponse): Promise<string> {
  const pieces: Uint8Array[] = [];
  for (let piece = await response.read(); piece !== undefined; piece = await response.read())
    pieces.push(piece);
  return Buffer.concat(pieces).toString("utf8");
}

/** Writes `text` in pieces cut at the given offsets, each in a turn of its own. */
function writeInPieces(socket: Socket, text: string, cuts: readonly number[]): void {
  const bytes = Buffer.from(text);
  const bounds = [0, ...cuts, bytes.length];
  const next = (index: number) => {
    if (index >= bounds.length - 1) return;
    socket.write(bytes.subarray(bounds[index], bounds[index + 1]));
    setImmediate(() => next(index + 1));
  };
  next(0);
}

const chunkedAnswer =
  "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" +
  "7\r\ndata: 1\r\n" +
  "a;ext=1\r\n\ndata: é2\r\n" +
  "0\r\nx-trailer: yes\r\n\r\n";

test("a chunked answer reads the same whatever the boundaries it arrives in, and the connection is reused", async () => {
  const transport = new SocketUpstreamTransport(baseUrl);
  try {
    const length = Buffer.byteLength(chunkedAnswer);
    connections = 0;
    for (let cut = 1; cut < length; cut += 1) {
      answer = (socket) => writeInPieces(socket, chunkedAnswer, [cut, Math.min(length - 1, cut + 5)]);
      const response = await transport.send(get("/stream"));
      assert.equal(response.status, 200);
      assert.equal(response.getHeader("content-type"), "text/event-stream");
      assert.equal(await readAll(response), "data: 1\ndata: é2", `cut at ${cut}`);
    }
    assert.equal(connections, 1, "every answer ended cleanly, so one connection served them all");
    assert.match(
      received.at(-1) ?? "",
      /^GET \/v1\/stream HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\naccept: text\/plain$/,
    );
  } finally {
    transport.close();
  }
});

test("an answer without a length ends with its connection; 100 Continue is skipped; repeated headers join", async () => {
  const transport = new SocketUpstreamTransport(baseUrl);
  try {
    answer = (socket) => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nx-a: 1\r\nX-A: 2\r\n\r\nall of ");
      setImmediate(() => socket.end("it"));
    };
    connections = 0;
    const response = await transport.send(get("/close"));
    assert.equal(response.getHeader("x-a"), "1, 2");
    assert.equal(await readAll(response), "all of it");
    answer = (socket) => socket.write("HTTP/1.1 204 No Content\r\n\r\n");
    const empty = await transport.send(get("/empty"));
    assert.equal(empty.status, 204);
    assert.equal(await empty.read(), undefined);
    assert.equal(connections, 2, "the length-less answer's connection was not reused");
  } finally {
    transport.close();
  }
});

test("an idle connection is closed after the upstream's Keep-Alive hint less a second", async () => {
  const transport = new SocketUpstreamTransport(baseUrl, { idleConnectionMs: 60_000 });
  try {
    answer = (socket) =>
      socket.write("HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok");
    connections = 0;
    assert.equal(await readAll(await transport.send(get("/a"))), "ok");
    assert.equal(await readAll(await transport.send(get("/b"))), "ok");
    // A hint of 1 s leaves nothing to keep: each answer's connection is closed at once.
    assert.equal(connections, 2);
  } finally {
    transport.close();
  }
});

test("a malformed or oversized answer head, a bad chunk size and a cut-off chunked body are errors", async () => {
  const transport = new SocketUpstreamTransport(baseUrl, { maxHeadBytes: 1024 });
  try {
    answer = (socket) => socket.write("SMTP ready\r\n\r\n");
    await assert.rejects(transport.send(get("/bad")), /status line/);
    answer = (socket) => socket.write(`HTTP/1.1 200 OK\r\nx-big: ${"x".repeat(2000)}`);
    await assert.rejects(transport.send(get("/big")), /larger than 1024 bytes/);
    answer = (socket) => socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
    const bad = await transport.send(get("/chunk"));
    await assert.rejects(readAll(bad), /bad chunk size/);
    answer = (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab");
      setImmediate(() => socket.destroy());
    };
    const cut = await transport.send(get("/cut"));
    await assert.rejects(readAll(cut), (error: NodeJS.ErrnoException) => error.code === "ECONNRESET");
  } finally {
    transport.close();
  }
});

test("header values with line breaks are refused before anything is sent", async () => {
  const transport = new SocketUpstreamTransport(baseUrl);
  try {
    await assert.rejects(
      transport.send({ ...get("/x"), headers: { authorization: "Bearer a\r\nx-injected: 1" } }),
      TypeError,
    );
  } finally {
    transport.close();
  }
});
