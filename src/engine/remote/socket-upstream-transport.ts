// The UpstreamTransport for plain-HTTP upstreams: HTTP/1.1 written and read directly on pooled
// `net.Socket`s. node:http's client (http-upstream-transport.ts, still used for https://) builds a
// ClientRequest, an agent lookup, an IncomingMessage and its streams for every request; a proxy that
// sends one small request and reads one answer per exchange needs none of that (see docs/benchmarks.md,
// "Sixth round"). What it does: one write per request (head and body), a response head of at most
// `maxHeadBytes`, bodies framed by Content-Length, chunked transfer coding or the connection's end,
// keep-alive connections kept idle for `idleConnectionMs` (or 1 s less than the upstream's
// `Keep-Alive: timeout=N` when shorter), and a request that meets a closed or reset reused connection
// before any byte of an answer is sent once more on a new connection, as with node's agent.
// Must not depend on the engine, the dispatcher or the server.
import net from "node:net";
import type { CancelSignal } from "../../util/cancel-signal.ts";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "./upstream-transport.ts";

export interface SocketUpstreamTransportOptions {
  /** How long an unused pooled connection is kept open, in ms. Default 4000 (the upstream's hint wins when shorter). */
  idleConnectionMs?: number;
  /** Longest response head (status line and headers) read, in bytes. Default 64 KiB. */
  maxHeadBytes?: number;
}

const crlf = Buffer.from("\r\n");
const headEnd = Buffer.from("\r\n\r\n");

export class SocketUpstreamTransport implements UpstreamTransport {
  readonly #host: string;
  readonly #port: number;
  readonly #basePath: string;
  readonly #fixedHead: string;
  readonly #idleConnectionMs: number;
  readonly #maxHeadBytes: number;
  readonly #idle: Connection[] = [];
  readonly #open = new Set<Connection>();

  /** `baseUrl`: `http://`, e.g. `http://10.0.0.5:8000/v1`. */
  constructor(baseUrl: string, options: SocketUpstreamTransportOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:")
      throw new RangeError(`This transport speaks http:// only, not ${url.protocol}//`);
    // `[::1]` in a URL, `::1` for a socket.
    this.#host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = url.port === "" ? 80 : Number(url.port);
    this.#basePath = url.pathname.replace(/\/+$/, "");
    let head = `host: ${url.host}\r\n`;
    if (url.username !== "") {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      head += `authorization: Basic ${Buffer.from(credentials).toString("base64")}\r\n`;
    }
    this.#fixedHead = head;
    this.#idleConnectionMs = options.idleConnectionMs ?? 4000;
    this.#maxHeadBytes = options.maxHeadBytes ?? 64 * 1024;
  }

  send(request: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      if (request.signal.aborted) {
        reject(createAbortError());
        return;
      }
      let head: string;
      try {
        head = this.#writeHead(request);
      } catch (error) {
        reject(error);
        return;
      }
      this.#attempt(request, head, true, resolve, reject);
    });
  }

  close(): void {
    for (const connection of this.#open) connection.socket.destroy();
    this.#open.clear();
    this.#idle.length = 0;
  }

  #writeHead(request: UpstreamRequest): string {
    let head = `${request.method} ${this.#basePath}${request.path} HTTP/1.1\r\n${this.#fixedHead}`;
    for (const name in request.headers) {
      const value = request.headers[name] ?? "";
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
        throw new TypeError(`The header ${JSON.stringify(name)} holds a line break.`);
      head += `${name}: ${value}\r\n`;
    }
    if (request.body !== undefined) head += `content-length: ${Buffer.byteLength(request.body)}\r\n`;
    return `${head}\r\n`;
  }

  #attempt(
    request: UpstreamRequest,
    head: string,
    mayRetry: boolean,
    resolve: (response: UpstreamResponse) => void,
    reject: (error: unknown) => void,
  ): void {
    let connection: Connection | undefined;
    while (connection === undefined && this.#idle.length > 0) {
      const candidate = this.#idle.pop();
      if (candidate !== undefined && !candidate.socket.destroyed) connection = candidate;
    }
    connection ??= this.#connect();
    const reused = connection.served > 0;
    connection.begin({
      signal: request.signal,
      resolve,
      reject: (error, answered) => {
        // A reused connection the upstream had closed: it did not take the request.
        if (mayRetry && reused && !answered && !request.signal.aborted && isConnectionLoss(error)) {
          this.#attempt(request, head, false, resolve, reject);
          return;
        }
        reject(error);
      },
    });
    connection.socket.write(request.body === undefined ? head : head + request.body);
  }

  #connect(): Connection {
    const socket = net.connect({ host: this.#host, port: this.#port });
    socket.setNoDelay(true);
    const connection = new Connection(socket, this.#maxHeadBytes, (reusable, keepAliveMs) => {
      if (!reusable) {
        socket.destroy();
        return;
      }
      const idleMs =
        keepAliveMs === undefined
          ? this.#idleConnectionMs
          : Math.min(this.#idleConnectionMs, keepAliveMs - 1000);
      if (idleMs <= 0) {
        socket.destroy();
        return;
      }
      connection.idleTimer = setTimeout(() => socket.destroy(), idleMs);
      connection.idleTimer.unref();
      this.#idle.push(connection);
    });
    this.#open.add(connection);
    socket.once("close", () => {
      this.#open.delete(connection);
      const index = this.#idle.indexOf(connection);
      if (index >= 0) this.#idle.splice(index, 1);
    });
    return connection;
  }
}

interface Exchange {
  signal: CancelSignal;
  resolve(response: UpstreamResponse): void;
  /** `answered`: whether any byte of the answer had arrived. */
  reject(error: unknown, answered: boolean): void;
}

type BodyFraming =
  | { kind: "length"; remaining: number }
  | { kind: "chunked"; state: "size" | "data" | "data-end" | "trailer"; remaining: number; line: Buffer }
  | { kind: "close" };

/** One pooled connection and the exchange on it, if any: the response parser lives here. */
class Connection {
  readonly socket: net.Socket;
  readonly #maxHeadBytes: number;
  readonly #release: (reusable: boolean, keepAliveMs: number | undefined) => void;
  idleTimer: NodeJS.Timeout | undefined;
  served = 0;
  #exchange: Exchange | undefined;
  #onAbort: (() => void) | undefined;
  #head: Buffer | undefined;
  #answered = false;
  #body: Body | undefined;
  #framing: BodyFraming = { kind: "close" };
  #keepAlive = false;
  #keepAliveMs: number | undefined;

  constructor(
    socket: net.Socket,
    maxHeadBytes: number,
    release: (reusable: boolean, keepAliveMs: number | undefined) => void,
  ) {
    this.socket = socket;
    this.#maxHeadBytes = maxHeadBytes;
    this.#release = release;
    socket.on("data", (data: Buffer) => this.#receive(data));
    socket.on("error", (error) => this.#fail(error));
    socket.on("close", () => this.#fail(createConnectionClosedError()));
  }

  begin(exchange: Exchange): void {
    clearTimeout(this.idleTimer);
    this.served += 1;
    this.#exchange = exchange;
    this.#head = undefined;
    this.#answered = false;
    this.#body = undefined;
    const onAbort = () => this.socket.destroy(createAbortError());
    this.#onAbort = onAbort;
    exchange.signal.addEventListener("abort", onAbort, { once: true });
  }

  #receive(data: Buffer): void {
    if (this.#exchange === undefined) {
      // Nothing was asked: an idle connection that talks is not one to reuse.
      this.socket.destroy();
      return;
    }
    this.#answered = true;
    if (this.#body === undefined) {
      const head: Buffer = this.#head === undefined ? data : Buffer.concat([this.#head, data]);
      const end = head.indexOf(headEnd);
      if (end < 0) {
        if (head.length > this.#maxHeadBytes)
          this.#fail(new Error(`The answer's head is larger than ${this.#maxHeadBytes} bytes.`));
        else this.#head = head;
        return;
      }
      this.#head = undefined;
      let response: UpstreamResponse;
      try {
        response = this.#readHead(head.toString("latin1", 0, end));
      } catch (error) {
        this.#fail(error);
        return;
      }
      const rest = head.subarray(end + headEnd.length);
      if (this.#body === undefined) {
        // An informational answer (100 Continue): the real one follows.
        if (rest.length > 0) this.#receive(rest);
        return;
      }
      this.#exchange.resolve(response);
      if (rest.length > 0) this.#receiveBody(rest);
      else this.#endIfEmpty();
      return;
    }
    this.#receiveBody(data);
  }

  #readHead(text: string): UpstreamResponse {
    const lines = text.split("\r\n");
    const match = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? "");
    if (match === null) throw new Error("The answer does not start with an HTTP/1.x status line.");
    const status = Number(match[2]);
    const headers = new Map<string, string>();
    for (let index = 1; index < lines.length; index++) {
      const line = lines[index] ?? "";
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error("The answer holds a malformed header line.");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
    const response: UpstreamResponse = {
      status,
      getHeader: (name) => headers.get(name),
      read: () => body.read(),
      cancel: () => this.#cancel(body),
    };
    if (status >= 100 && status < 200) return response;
    const connectionHeader = headers.get("connection")?.toLowerCase() ?? "";
    this.#keepAlive =
      match[1] === "1" ? !connectionHeader.includes("close") : connectionHeader.includes("keep-alive");
    const hint = /timeout=(\d+)/.exec(headers.get("keep-alive") ?? "");
    this.#keepAliveMs = hint === null ? undefined : Number(hint[1]) * 1000;
    const transferEncoding = headers.get("transfer-encoding")?.toLowerCase();
    const length = headers.get("content-length");
    if (status === 204 || status === 304) this.#framing = { kind: "length", remaining: 0 };
    else if (transferEncoding?.includes("chunked"))
      this.#framing = { kind: "chunked", state: "size", remaining: 0, line: Buffer.alloc(0) };
    else if (length !== undefined) {
      const remaining = Number(length);
      if (!Number.isSafeInteger(remaining) || remaining < 0)
        throw new Error("The answer's Content-Length is not a number.");
      this.#framing = { kind: "length", remaining };
    } else {
      this.#framing = { kind: "close" };
      this.#keepAlive = false;
    }
    const body = new Body(this.socket);
    this.#body = body;
    return response;
  }

  #endIfEmpty(): void {
    if (this.#framing.kind === "length" && this.#framing.remaining === 0) this.#finish();
  }

  #receiveBody(data: Buffer): void {
    const body = this.#body;
    if (body === undefined || body.done) return;
    const framing = this.#framing;
    if (framing.kind === "close") {
      body.push(data);
      return;
    }
    if (framing.kind === "length") {
      const piece = data.length <= framing.remaining ? data : data.subarray(0, framing.remaining);
      framing.remaining -= piece.length;
      if (piece.length > 0) body.push(piece);
      // More than the announced length: the connection cannot be trusted for another exchange.
      if (piece.length < data.length) this.#keepAlive = false;
      if (framing.remaining === 0) this.#finish();
      return;
    }
    let offset = 0;
    while (offset < data.length && !body.done) {
      if (framing.state === "data") {
        const take = Math.min(framing.remaining, data.length - offset);
        body.push(data.subarray(offset, offset + take));
        offset += take;
        framing.remaining -= take;
        if (framing.remaining === 0) framing.state = "data-end";
        continue;
      }
      // size, data-end and trailer lines end in CRLF, which may itself be split between two reads.
      let line: Buffer;
      const held = framing.line;
      if (held.length > 0 && held[held.length - 1] === 13 && data[offset] === 10) {
        line = held.subarray(0, held.length - 1);
        offset += 1;
      } else {
        const lineEnd = data.indexOf(crlf, offset);
        line = Buffer.concat([held, data.subarray(offset, lineEnd < 0 ? data.length : lineEnd)]);
        if (lineEnd < 0) {
          if (line.length > 4096) {
            this.#fail(new Error("The answer holds a chunk line that is too long."));
            return;
          }
          framing.line = line;
          return;
        }
        offset = lineEnd + crlf.length;
      }
      framing.line = Buffer.alloc(0);
      const text = line.toString("latin1");
      if (framing.state === "data-end") {
        if (text !== "") {
          this.#fail(new Error("The answer's chunk is longer than announced."));
          return;
        }
        framing.state = "size";
      } else if (framing.state === "size") {
        const size = Number.parseInt(text.split(";")[0]?.trim() ?? "", 16);
        if (!Number.isSafeInteger(size) || size < 0) {
          this.#fail(new Error("The answer holds a bad chunk size."));
          return;
        }
        if (size === 0) framing.state = "trailer";
        else {
          framing.state = "data";
          framing.remaining = size;
        }
      } else if (text === "") {
        if (offset < data.length) this.#keepAlive = false;
        this.#finish();
      }
    }
  }

  /** The answer is complete: its body ends, and the connection goes back to the pool if it can. */
  #finish(): void {
    const body = this.#body;
    const exchange = this.#exchange;
    if (body === undefined || exchange === undefined) return;
    this.#endExchange(exchange);
    body.end();
    // The body may have paused the socket; an idle connection must still hear the upstream close it.
    this.socket.resume();
    this.#release(this.#keepAlive && !this.socket.destroyed, this.#keepAliveMs);
  }

  #cancel(body: Body): void {
    if (body.done) return;
    body.fail(createAbortError());
    this.socket.destroy();
  }

  #endExchange(exchange: Exchange): void {
    if (this.#onAbort !== undefined) exchange.signal.removeEventListener("abort", this.#onAbort);
    this.#onAbort = undefined;
    this.#exchange = undefined;
  }

  #fail(error: unknown): void {
    const exchange = this.#exchange;
    if (exchange !== undefined) {
      this.#endExchange(exchange);
      if (this.#body === undefined) exchange.reject(error, this.#answered);
      else if (this.#framing.kind === "close" && isConnectionClosed(error)) this.#body.end();
      else this.#body.fail(error);
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

/** A response body: pieces queued as they come, the socket paused while one waits unread. */
class Body {
  readonly #socket: net.Socket;
  readonly #pieces: Buffer[] = [];
  #ended = false;
  #failure: unknown;
  #waiter: { resolve(piece: Buffer | undefined): void; reject(error: unknown): void } | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
  }

  get done(): boolean {
    return this.#ended || this.#failure !== undefined;
  }

  push(piece: Buffer): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(piece);
      return;
    }
    this.#pieces.push(piece);
    this.#socket.pause();
  }

  end(): void {
    if (this.done) return;
    this.#ended = true;
    this.#wake();
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.#failure = error;
    this.#wake();
  }

  read(): Promise<Buffer | undefined> {
    if (this.#pieces.length > 0) return Promise.resolve(this.#take());
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(undefined);
    if (this.#waiter !== undefined) return Promise.reject(new Error("read() while a read is pending"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #take(): Buffer | undefined {
    const piece = this.#pieces.shift();
    if (this.#pieces.length === 0) this.#socket.resume();
    return piece;
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined || this.#pieces.length > 0) return;
    this.#waiter = undefined;
    if (this.#failure !== undefined) waiter.reject(this.#failure);
    else waiter.resolve(undefined);
  }
}

function createAbortError(): Error {
  return Object.assign(new Error("The operation was aborted."), { name: "AbortError", code: "ABORT_ERR" });
}

function createConnectionClosedError(): Error {
  return Object.assign(new Error("The upstream closed the connection."), { code: "ECONNRESET" });
}

function isConnectionClosed(error: unknown): boolean {
  return error instanceof Error && error.message === "The upstream closed the connection.";
}

function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}
