// The UpstreamTransport Ostrom uses: node:http (or node:https) with a keep-alive agent. Chosen over
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
        signal: request.signal,
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

function toUpstreamResponse(message: http.IncomingMessage): UpstreamResponse {
  const body = message[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return {
    status: message.statusCode ?? 0,
    getHeader(name) {
      const value = message.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    async read() {
      const next = await body.next();
      return next.done ? undefined : next.value;
    },
    cancel() {
      message.destroy();
    },
  };
}
