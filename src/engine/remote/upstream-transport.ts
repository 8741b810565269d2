// How the remote engine talks HTTP to its upstream: send one request, get its status, headers and a
// body to pull from. An interface so that the engine's protocol logic (SSE, errors, timeouts) is the
// same over HTTP/1.1 on pooled sockets (socket-upstream-transport.ts, what Ostrom uses for http://),
// node:https with a keep-alive agent (http-upstream-transport.ts, for https://; ~0.24 ms less CPU per
// proxied request than `fetch`, and the socket transport ~0.07 ms less again, see docs/benchmarks.md)
// and a `fetch` function (fetch-upstream-transport.ts, which tests use to hand-make streams). Must not
// depend on the engine, the dispatcher or the server.
import type { CancelSignal } from "../../util/cancel-signal.ts";

export interface UpstreamRequest {
  method: "GET" | "POST";
  /** Appended to the transport's base URL, e.g. `/chat/completions`. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string | undefined;
  /** Aborting it tears the request down: a pending `send` or `read` rejects. */
  signal: CancelSignal;
}

export interface UpstreamResponse {
  readonly status: number;
  /** A response header by its lower-case name. */
  getHeader(name: string): string | undefined;
  /** The next piece of the body, or undefined at its end. Rejects if the connection breaks or is aborted. */
  read(): Promise<Uint8Array | undefined>;
  /** Stops reading and closes the connection: an upstream still generating sees its client go away. */
  cancel(): void;
}

export interface UpstreamTransport {
  /** Resolves once the response headers are in; rejects when the upstream cannot be reached. */
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Closes idle pooled connections; requests in progress are ended by their signals. */
  close(): void;
}
