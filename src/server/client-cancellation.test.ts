import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { CancelSignal } from "../util/cancel-signal.ts";
import { getClientCancellation } from "./client-cancellation.ts";

/** A real server whose one route streams until told to end, handing its cancellation to the test. */
async function startServer() {
  const seen: CancelSignal[] = [];
  let finish: (() => void) | undefined;
  const app = new Hono();
  app.get("/", (c) => {
    seen.push(getClientCancellation(c));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("first\n"));
        finish = () => controller.close();
      },
    });
    return c.body(body);
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { seen, port, finish: () => finish?.(), close: () => server.close() };
}

/** Opens the stream and resolves once its first bytes arrived, with the response to read or drop. */
function open(port: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (response) =>
      response.once("data", () => resolve(response)),
    );
    request.on("error", reject);
  });
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

test("a client that disconnects mid-response aborts the cancellation, and no AbortSignal is made", async () => {
  const server = await startServer();
  try {
    const response = await open(server.port);
    const [cancellation] = server.seen;
    assert.ok(cancellation !== undefined);
    assert.equal(
      cancellation instanceof AbortSignal,
      false,
      "the cheap Cancellation, not the request's signal",
    );
    let calls = 0;
    cancellation.addEventListener("abort", () => calls++);
    assert.equal(cancellation.aborted, false);
    response.destroy();
    await until(() => cancellation.aborted);
    assert.equal(cancellation.aborted, true);
    assert.equal(calls, 1);
  } finally {
    server.close();
  }
});

test("a response that finishes leaves the cancellation untouched", async () => {
  const server = await startServer();
  try {
    const response = await open(server.port);
    const ended = new Promise((resolve) => response.on("end", resolve));
    response.resume();
    server.finish();
    await ended;
    const [cancellation] = server.seen;
    // The server side closes after the client has the last byte; give it the time to.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(cancellation?.aborted, false);
  } finally {
    server.close();
  }
});

test("without a Node response (app.request) it is the request's own signal", async () => {
  const app = new Hono();
  let seen: CancelSignal | undefined;
  app.get("/", (c) => {
    seen = getClientCancellation(c);
    return c.text("ok");
  });
  await app.request("/");
  assert.ok(seen instanceof AbortSignal);
});
