// The UpstreamTransport Ostrom uses for https:// upstreams (http:// ones go over the cheaper
// socket-upstream-transport.ts): node:https (or node:http) with a keep-alive agent. Chosen over
// `fetch` for its cost: undici's fetch builds a web Request, Headers, an AbortSignal per request and a
// web ReadableStream for the body, which was ~15 % of Ostrom's CPU when proxying small answers (see
// docs/benchmarks.md, "Gateway overhead"); node:http hands over the socket's buffers as they come.
//
// Pooled connections: an idle connection is closed after `idleConnectionMs`, or 1 s before the
// upstream's own `Keep-Alive: timeout=N` hint when that is shorter (node's agent reads it), so a
// request is rarely written to a connection the upstream is closing. When that happens anyway — a reset
// on a reused connection before any answer — the request is sent once more on a fresh connection, as
// node's documentation advises: the upstream closed the connection, it did not take the request.
// Must not depend on the engine, the dispatcher or the server.
import http from "node:http";
import https from "node:https";
import { toAbortSignal } from "../../util/cancel-signal.ts";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "./upstream-transport.ts";

export interface HttpUpstreamTransportOptions {
  /** How long an unused pooled connection is kept open, in ms. Default 4000 (the upstream's hint wins when shorter). */
  idleConnectionMs?: number;
}

export class HttpUpstreamTransport implements UpstreamTransport {
  readonly #request: typeof http.request;
  readonly #agent: http.Agent;
  readonly #hostname: string;
  readonly #port: string;
  readonly #basePath: string;
  readonly #auth: string | undefined;

  /** `baseUrl`: `http://` or `https://`, e.g. `http://10.0.0.5:8000/v1`. */
  constructor(baseUrl: string, options: HttpUpstreamTransportOptions = {}) {
    const url = new URL(baseUrl);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:")
      throw new RangeError(`An upstream URL must start with http:// or https://, not ${url.protocol}//`);
    const agentOptions = {
      keepAlive: true,
      timeout: options.idleConnectionMs ?? 4000,
      scheduling: "lifo" as const,
    };
    this.#request = secure ? https.request : http.request;
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    // `[::1]` in a URL, `::1` for a socket.
    this.#hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = url.port;
    this.#basePath = url.pathname.replace(/\/+$/, "");
    this.#auth =
      url.username === ""
        ? undefined
        : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }

  send(request: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => this.#attempt(request, true, resolve, reject));
  }

  close(): void {
    this.#agent.destroy();
  }

  #attempt(
    request: UpstreamRequest,
    mayRetry: boolean,
    resolve: (response: UpstreamResponse) => void,
    reject: (error: unknown) => void,
  ): void {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
    let outgoing: http.ClientRequest;
    try {
      outgoing = this.#request({
        agent: this.#agent,
        hostname: this.#hostname,
        port: this.#port,
        path: `${this.#basePath}${request.path}`,
        method: request.method,
        headers,
        auth: this.#auth,
        signal: toAbortSignal(request.signal),
      });
    } catch (error) {
      reject(error);
      return;
    }
    let answered = false;
    outgoing.once("response", (message) => {
      answered = true;
      resolve(toUpstreamResponse(message));
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      // Once answered, a failure reaches the reader of the body instead.
      if (answered) return;
      if (
        mayRetry &&
        outgoing.reusedSocket &&
        !request.signal.aborted &&
        (error.code === "ECONNRESET" || error.code === "EPIPE")
      ) {
        this.#attempt(request, false, resolve, reject);
        return;
      }
      reject(error);
    });
    outgoing.end(request.body);
  }
}

/**
 * The answer's body is pulled piece by piece from 'data' events, the message paused while a piece waits
 * unread. Lighter than the stream's async iterator (no generator, no end-of-stream watcher per answer).
 */
function toUpstreamResponse(message: http.IncomingMessage): UpstreamResponse {
  const pieces: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  let waiter: { resolve(piece: Buffer | undefined): void; reject(error: unknown): void } | undefined;
  const take = (): Buffer | undefined => {
    const piece = pieces.shift();
    if (pieces.length === 0 && !ended) message.resume();
    return piece;
  };
  const wake = () => {
    const current = waiter;
    if (current === undefined) return;
    if (pieces.length > 0) current.resolve(take());
    else if (failure !== undefined) current.reject(failure);
    else if (ended) current.resolve(undefined);
    else return;
    waiter = undefined;
  };
  message.on("data", (piece: Buffer) => {
    pieces.push(piece);
    if (waiter === undefined) message.pause();
    else wake();
  });
  message.on("end", () => {
    ended = true;
    wake();
  });
  message.on("error", (error) => {
    failure ??= error;
    wake();
  });
  message.on("close", () => {
    if (!ended)
      failure ??= Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
    wake();
  });
  return {
    status: message.statusCode ?? 0,
    getHeader(name) {
      const value = message.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    read() {
      if (pieces.length > 0) return Promise.resolve(take());
      if (failure !== undefined) return Promise.reject(failure);
      if (ended) return Promise.resolve(undefined);
      if (waiter !== undefined) return Promise.reject(new Error("read() while a read is pending"));
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    cancel() {
      message.destroy();
    },
  };
}
