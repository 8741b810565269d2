import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, test } from "node:test";
import { HttpUpstreamTransport } from "./http-upstream-transport.ts";
import { SocketUpstreamTransport } from "./socket-upstream-transport.ts";
import type { UpstreamResponse, UpstreamTransport } from "./upstream-transport.ts";

/** A real HTTP server whose answer to each request is decided by `handle`, counting connections. */
let server: Server;
let baseUrl: string;
let connections: Socket[] = [];
let handle: (request: IncomingMessage, response: ServerResponse, requestOnConnection: number) => void;
const requestsPerConnection = new WeakMap<Socket, number>();

before(async () => {
  server = createServer((request, response) => {
    const socket = request.socket;
    const count = (requestsPerConnection.get(socket) ?? 0) + 1;
    requestsPerConnection.set(socket, count);
    let body = "";
    request.on("data", (piece: Buffer) => {
      body += piece.toString("utf8");
    });
    request.on("end", () => {
      response.setHeader("x-received", body);
      handle(request, response, count);
    });
  });
  server.on("connection", (socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function readAll(response: UpstreamResponse): Promise<string> {
  let text = "";
  for (let piece = await response.read(); piece !== undefined; piece = await response.read())
    text += Buffer.from(piece).toString("utf8");
  return text;
}

const post = (path: string, body = "{}") => ({
  method: "POST" as const,
  path,
  headers: { "content-type": "application/json" },
  body,
  signal: new AbortController().signal,
});

// The same behaviour from both plain-HTTP transports: node:http's client (also used for https://) and
// the socket transport the remote engine uses for http://.
const transports: [string, (url: string) => UpstreamTransport][] = [
  ["node:http", (url) => new HttpUpstreamTransport(url)],
  ["socket", (url) => new SocketUpstreamTransport(url)],
];

for (const [name, createTransport] of transports) {
  test(`${name}: sends method, path under the base, headers and body; reads status, headers and body; reuses the connection`, async () => {
    connections = [];
    handle = (request, response) => {
      response.writeHead(201, { "content-type": "text/plain", "x-path": request.url ?? "" });
      response.end(`hello ${request.method}`);
    };
    const transport = createTransport(baseUrl);
    try {
      for (let round = 0; round < 3; round++) {
        const response = await transport.send(post("/chat/completions", '{"a":"é"}'));
        assert.equal(response.status, 201);
        assert.equal(response.getHeader("x-path"), "/v1/chat/completions");
        assert.equal(response.getHeader("x-received"), '{"a":"é"}');
        assert.equal(await readAll(response), "hello POST");
      }
      assert.equal(connections.length, 1, "one kept-alive connection for all three");
    } finally {
      transport.close();
    }
  });

  test(`${name}: a reset on a reused connection before any answer is sent again once, on a new connection`, async () => {
    connections = [];
    // The second request on the first connection meets a server closing it, as when an idle
    // connection times out on the server just as a request is written to it.
    handle = (request, response, requestOnConnection) => {
      if (requestOnConnection === 2 && request.socket === connections[0]) {
        request.socket.destroy();
        return;
      }
      response.end("ok");
    };
    const transport = createTransport(baseUrl);
    try {
      assert.equal(await readAll(await transport.send(post("/x"))), "ok");
      assert.equal(await readAll(await transport.send(post("/x"))), "ok");
      assert.equal(connections.length, 2);
    } finally {
      transport.close();
    }
  });

  test(`${name}: a reset on a new connection is not sent again: the error is the caller's`, async () => {
    connections = [];
    let requests = 0;
    handle = (request) => {
      requests += 1;
      request.socket.destroy();
    };
    const transport = createTransport(baseUrl);
    try {
      await assert.rejects(transport.send(post("/x")), (error: NodeJS.ErrnoException) => {
        assert.equal(error.code, "ECONNRESET");
        return true;
      });
      assert.equal(requests, 1);
    } finally {
      transport.close();
    }
  });

  test(`${name}: cancel closes the connection of an answer still being sent; abort rejects a pending send`, async () => {
    connections = [];
    let closedEarly!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closedEarly = resolve));
    handle = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: 1\n\n");
      response.on("close", () => {
        if (!response.writableFinished) closedEarly();
      });
    };
    const transport = createTransport(baseUrl);
    try {
      const response = await transport.send(post("/stream"));
      assert.equal(Buffer.from((await response.read())!).toString("utf8"), "data: 1\n\n");
      response.cancel();
      await serverSawClose;

      handle = () => {}; // never answers
      const controller = new AbortController();
      const pending = transport.send({ ...post("/hang"), signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(pending, (error: Error) => error.name === "AbortError");
    } finally {
      transport.close();
    }
  });

  test(`${name}: a body is read whole and in order however it is written; a connection cut mid-body rejects the read`, async () => {
    connections = [];
    const pieces = Array.from({ length: 200 }, (_, index) => `${index}:${"x".repeat(1000)};`);
    handle = (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      const writeNext = (index: number) => {
        if (index === pieces.length) return response.end();
        response.write(pieces[index]);
        // Some pieces at once, some a turn apart: the reader sees both buffered and awaited pieces.
        if (index % 7 === 0) setImmediate(() => writeNext(index + 1));
        else writeNext(index + 1);
      };
      writeNext(0);
    };
    const transport = createTransport(baseUrl);
    try {
      const response = await transport.send(post("/big"));
      // The reader lags behind the writer, so pieces wait paused in between.
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await readAll(response), pieces.join(""));
      assert.equal(await response.read(), undefined, "reading past the end keeps saying so");

      handle = (_request, answer) => {
        answer.writeHead(200, { "content-length": "100" });
        answer.write("partial");
        setTimeout(() => answer.socket?.destroy(), 20);
      };
      const cut = await transport.send(post("/cut"));
      assert.equal(Buffer.from((await cut.read())!).toString("utf8"), "partial");
      await assert.rejects(cut.read());
    } finally {
      transport.close();
    }
  });
}
