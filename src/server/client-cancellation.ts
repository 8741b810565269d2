// The cancellation a route hands on when its client goes away, without the AbortController and
// AbortSignal that Hono's Node adapter makes on the first read of `c.req.raw.signal` (one AbortSignal
// per request is garbage that outlives young-generation collections: src/util/cancel-signal.ts). Under
// @hono/node-server it follows the Node response, as the adapter itself does: a "close" before the
// response has finished means the client disconnected. Without a Node response (`app.request` in
// tests) it is the request's own signal.
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { Cancellation, type CancelSignal } from "../util/cancel-signal.ts";

export function getClientCancellation(c: Context): CancelSignal {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (outgoing === undefined) return c.req.raw.signal;
  const cancellation = new Cancellation();
  if (outgoing.closed) cancellation.abort();
  else
    outgoing.on("close", () => {
      if (!outgoing.writableFinished) cancellation.abort();
    });
  return cancellation;
}
