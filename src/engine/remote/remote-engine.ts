// The remote engine: an Engine in front of one OpenAI-compatible upstream (vLLM, llama.cpp's server,
// Ollama's /v1). Requests are translated to OpenAI JSON and streamed from the upstream, whose SSE stream
// is turned back into Ostrom's generation events. A request whose consumer only wants the whole answer
// (`stream: false` on the engine request: a non-streamed API response) asks the upstream for one JSON
// answer instead and yields it as one text event and `done` (the same events, fewer of them: no SSE
// decoding, one JSON parse instead of ~20). In a stream, the text of the events that arrive in one
// read is handed on as one text event, and a token's event that is the one before it with another
// text is read without parsing it (text-delta-template.ts). The request's `model.ref` is the model's
// name upstream.
//
// An upstream says nothing while it generates a non-streamed answer, so for those the wait for the
// response headers is bounded by the connect timeout plus the response timeout (630 s by default, as
// long as the OpenAI clients wait), instead of by the connect timeout alone.
//
// Errors are shaped for the dispatcher (src/dispatch/): anything that means "this backend cannot serve
// now" — refused connection, DNS failure, no answer in time, upstream 5xx/429, a stream that breaks —
// is `backend_unavailable`; the dispatcher fails over only when no event has been yielded yet, which it
// tracks itself. Refusals of the request itself keep their meaning (invalid_parameter, model_not_found,
// context_length_exceeded). Must not depend on the server, the scheduler or the dispatcher.
import { OstromError } from "../../errors.ts";
import { Cancellation, type CancelSignal } from "../../util/cancel-signal.ts";
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResult,
  Engine,
  GenerationEvent,
  LoadedModelInfo,
  ModelHandle,
} from "../engine.ts";
import { FetchUpstreamTransport } from "./fetch-upstream-transport.ts";
import { HttpUpstreamTransport } from "./http-upstream-transport.ts";
import { SocketUpstreamTransport } from "./socket-upstream-transport.ts";
import { SseDecoder, SseEventTooLargeError } from "./sse-decoder.ts";
import { MalformedChunkError, StreamAssembler } from "./stream-assembler.ts";
import { TextDeltaTemplate } from "./text-delta-template.ts";
import { toOpenAIChatBody, toOpenAICompletionBody } from "./to-openai-request.ts";
import { readErrorDetail, toUpstreamError } from "./to-upstream-error.ts";
import type { UpstreamResponse, UpstreamTransport } from "./upstream-transport.ts";

export interface RemoteEngineOptions {
  /** The backend's name from the configuration, used in messages and logs. */
  name: string;
  /** The API base, e.g. `http://10.0.0.5:8000/v1`; endpoints are appended (`/chat/completions`). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /**
   * Milliseconds for the upstream to accept a request and send its response headers; past that the
   * backend counts as unavailable. It includes the upstream's own queueing (and, for servers that hold
   * headers until the first token, its prompt processing), hence not a TCP-level figure. Default 30 000.
   */
  connectTimeoutMs?: number;
  /** Longest silence allowed inside a streamed answer before it counts as broken. Default 120 000. */
  idleTimeoutMs?: number;
  /**
   * Milliseconds, after the connect timeout, for the whole answer to a non-streamed request (the
   * upstream is silent while it generates it). Default 600 000.
   */
  responseTimeoutMs?: number;
  /** Longest JSON answer read (embeddings, model lists), in bytes. Default 256 MiB. */
  maxResponseBytes?: number;
  /**
   * For tests: talk to the upstream through this `fetch` instead of HTTP on pooled sockets
   * (socket-upstream-transport.ts; https:// upstreams: node:https, http-upstream-transport.ts), e.g. to
   * hand-make streams.
   */
  fetch?: typeof fetch;
}

/** Error bodies are for a message; more than this is not read. */
const maxErrorBodyBytes = 64 * 1024;
/** After `[DONE]`, how long the rest of the answer may take to arrive so the connection can be reused. */
const drainTimeoutMs = 1000;

interface UpstreamCall {
  cancellation: Cancellation;
  /** How long the upstream may take to send its response headers. */
  headersTimeoutMs: number;
  /** Why the call was aborted by Ostrom itself, if it was. */
  reason: "connect_timeout" | "idle_timeout" | "disposed" | undefined;
  end(): void;
}

export class RemoteEngine implements Engine {
  readonly name: string;
  readonly #baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #responseTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #transport: UpstreamTransport;
  readonly #calls = new Set<UpstreamCall>();
  #pendingRequests = 0;
  #disposed = false;

  constructor(options: RemoteEngineOptions) {
    this.name = options.name;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.#responseTimeoutMs = options.responseTimeoutMs ?? 600_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 256 * 1024 * 1024;
    this.#transport =
      options.fetch !== undefined
        ? new FetchUpstreamTransport(this.#baseUrl, options.fetch)
        : this.#baseUrl.startsWith("http://")
          ? new SocketUpstreamTransport(this.#baseUrl)
          : new HttpUpstreamTransport(this.#baseUrl);
  }

  /** Requests sent to the upstream and not yet finished. */
  get pendingRequests(): number {
    return this.#pendingRequests;
  }

  chat(request: ChatRequest, signal: CancelSignal): AsyncIterable<GenerationEvent> {
    const promptChars = request.messages.reduce(
      (total, message) =>
        total +
        message.content.length +
        (message.toolCalls ?? []).reduce((sum, call) => sum + call.name.length + call.arguments.length, 0),
      0,
    );
    return this.#generate("/chat/completions", toOpenAIChatBody(request), request.model, promptChars, signal);
  }

  complete(request: CompletionRequest, signal: CancelSignal): AsyncIterable<GenerationEvent> {
    const body = toOpenAICompletionBody(request);
    return this.#generate("/completions", body, request.model, request.prompt.length, signal);
  }

  async embed(request: EmbeddingRequest, signal: CancelSignal): Promise<EmbeddingResult> {
    const call = this.#beginCall(signal);
    this.#pendingRequests += 1;
    try {
      const body = { model: request.model.ref, input: request.inputs, encoding_format: "float" };
      const response = await this.#send("POST", "/embeddings", body, request.model.ref, call, signal);
      const answer = await this.#readJson(response, call, signal);
      return toEmbeddingResult(answer, request.inputs, this.name);
    } finally {
      call.end();
      this.#pendingRequests -= 1;
    }
  }

  /** The model names the upstream serves (`GET /models`). */
  async listModels(signal: CancelSignal): Promise<string[]> {
    const call = this.#beginCall(signal);
    try {
      const response = await this.#send("GET", "/models", undefined, "", call, signal);
      const answer = await this.#readJson(response, call, signal);
      const data = isRecord(answer) && Array.isArray(answer.data) ? answer.data : undefined;
      if (data === undefined) throw this.#malformed("its model list has no `data` list");
      return data.flatMap((entry) => (isRecord(entry) && typeof entry.id === "string" ? [entry.id] : []));
    } finally {
      call.end();
    }
  }

  /** Whether the upstream answers its model list in time; never throws. */
  async checkHealth(signal: CancelSignal): Promise<boolean> {
    try {
      await this.listModels(signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Remote models are loaded by their server; nothing to do. */
  async load(_model: ModelHandle, _signal: CancelSignal): Promise<void> {}

  async unload(_digest: string): Promise<void> {}

  listLoaded(): LoadedModelInfo[] {
    return [];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    for (const call of this.#calls) {
      call.reason = "disposed";
      call.cancellation.abort();
    }
    this.#transport.close();
  }

  async *#generate(
    path: string,
    body: Record<string, unknown>,
    model: ModelHandle,
    promptChars: number,
    signal: CancelSignal,
  ): AsyncGenerator<GenerationEvent> {
    const whole = body.stream === false;
    const call = this.#beginCall(
      signal,
      whole ? this.#connectTimeoutMs + this.#responseTimeoutMs : this.#connectTimeoutMs,
    );
    this.#pendingRequests += 1;
    let drained = false;
    try {
      const response = await this.#send("POST", path, body, model.ref, call, signal);
      const assembler = new StreamAssembler(promptChars);
      // An upstream that streams although asked not to is read as a stream.
      if (whole && !isEventStream(response)) {
        const text = await this.#readWholeAnswer(response, call, signal);
        drained = true;
        if (text === undefined) {
          yield assembler.finish(true);
          return;
        }
        const event = this.#accept(assembler, text, model.ref, "answer");
        if (event !== undefined) yield event;
        yield assembler.finish();
        return;
      }
      const decoder = new SseDecoder();
      const template = new TextDeltaTemplate();
      let events = 0;
      for (;;) {
        let chunk: Uint8Array | undefined;
        try {
          chunk = await this.#readWithinIdleTimeout(response, call);
        } catch (error) {
          if (signal.aborted && call.reason === undefined) {
            yield assembler.finish(true);
            return;
          }
          throw this.#broken(call, events, error);
        }
        let payloads: string[];
        try {
          payloads = chunk === undefined ? decoder.end() : decoder.push(chunk);
        } catch (error) {
          if (error instanceof SseEventTooLargeError) throw this.#malformed(error.message);
          throw error;
        }
        // The text of all events that arrived in one read goes on as one event: they arrived
        // together, so nobody could see any of it sooner, and each event handed on costs a step of
        // every generator between here and the client's socket.
        let text = "";
        for (const data of payloads) {
          if (data.trim() === "[DONE]") {
            // Read what is left (normally just the end of the chunked body) in the background, so
            // that the keep-alive connection goes back to the pool instead of being torn down.
            drained = true;
            void drainResponse(response, call);
            if (text !== "") yield { type: "text", text };
            yield assembler.finish();
            return;
          }
          const known = template.match(data);
          const event =
            known !== undefined
              ? assembler.acceptText(known)
              : this.#accept(assembler, data, model.ref, "event", template);
          if (event?.type === "text") {
            events += 1;
            text += event.text;
          }
        }
        if (text !== "") yield { type: "text", text };
        if (chunk === undefined) {
          if (!assembler.finished) {
            throw this.#broken(call, events, new Error("the stream ended before a finish reason"));
          }
          drained = true;
          yield assembler.finish();
          return;
        }
      }
    } finally {
      // Stopping early (client gone, consumer broke off, error) must stop the upstream's generation.
      if (!drained) call.cancellation.abort();
      call.end();
      this.#pendingRequests -= 1;
    }
  }

  /**
   * The next piece of an answer's body, or undefined at its end. Past the idle timeout without one the
   * call is aborted as `idle_timeout`. Only the upstream's silence counts, not the time a generator
   * waits for its consumer between two reads.
   */
  async #readWithinIdleTimeout(
    response: UpstreamResponse,
    call: UpstreamCall,
  ): Promise<Uint8Array | undefined> {
    const idleTimer = setTimeout(() => {
      this.#abortCall(call, "idle_timeout");
      // A transport that does not tie its body to the signal still ends the pending read this way.
      response.cancel();
    }, this.#idleTimeoutMs);
    try {
      return await response.read();
    } finally {
      clearTimeout(idleTimer);
    }
  }

  /**
   * The body of a non-streamed answer, read with the idle timeout between its pieces and bounded by
   * `maxResponseBytes`; undefined when the client went away while it was read.
   */
  async #readWholeAnswer(
    response: UpstreamResponse,
    call: UpstreamCall,
    signal: CancelSignal,
  ): Promise<string | undefined> {
    const pieces: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      let piece: Uint8Array | undefined;
      try {
        piece = await this.#readWithinIdleTimeout(response, call);
      } catch (error) {
        if (signal.aborted && call.reason === undefined) return undefined;
        throw this.#broken(call, 0, error);
      }
      if (piece === undefined) break;
      bytes += piece.byteLength;
      if (bytes > this.#maxResponseBytes) {
        response.cancel();
        throw this.#malformed(`its answer is larger than ${this.#maxResponseBytes} bytes`);
      }
      pieces.push(piece);
    }
    const only = pieces.length === 1 ? pieces[0] : undefined;
    return only !== undefined ? utf8.decode(only) : utf8.decode(Buffer.concat(pieces));
  }

  /**
   * One upstream payload — a stream event's data, or a whole answer's body — through the assembler: its
   * text event, if any. An error the upstream reports in its place (in a stream or a 200 body) throws.
   */
  #accept(
    assembler: StreamAssembler,
    data: string,
    model: string,
    kind: "event" | "answer",
    template?: TextDeltaTemplate,
  ): GenerationEvent | undefined {
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      throw this.#malformed(
        kind === "answer" ? "its answer is not JSON" : "its stream holds an event that is not JSON",
      );
    }
    if (isRecord(payload) && payload.error !== undefined && payload.choices === undefined) {
      throw this.#reportedError(data, model);
    }
    try {
      if (kind === "answer") return assembler.acceptWhole(payload);
      const event = assembler.accept(payload);
      template?.learn(data, payload);
      return event;
    } catch (error) {
      if (error instanceof MalformedChunkError) throw this.#malformed(error.message);
      throw error;
    }
  }

  /** An error the upstream sends in place of an answer (in a stream or a 200 body), by its code. */
  #reportedError(data: string, model: string): OstromError {
    const code = readErrorDetail(data).code;
    const status = code !== undefined && /^[45]\d\d$/.test(code) ? Number(code) : 500;
    return toUpstreamError(status, data, { backend: this.name, model });
  }

  #beginCall(signal: CancelSignal, headersTimeoutMs = this.#connectTimeoutMs): UpstreamCall {
    if (this.#disposed) throw new OstromError("shutting_down", "The engine is shutting down.");
    if (signal.aborted) throw new OstromError("request_cancelled", "The request was cancelled.");
    const cancellation = new Cancellation();
    const onAbort = () => cancellation.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const call: UpstreamCall = {
      cancellation,
      headersTimeoutMs,
      reason: undefined,
      end: () => {
        signal.removeEventListener("abort", onAbort);
        this.#calls.delete(call);
      },
    };
    this.#calls.add(call);
    return call;
  }

  #abortCall(call: UpstreamCall, reason: NonNullable<UpstreamCall["reason"]>): void {
    call.reason ??= reason;
    call.cancellation.abort();
  }

  /** Sends a request and waits for a successful answer's headers; refusals become OstromErrors. */
  async #send(
    method: "GET" | "POST",
    path: string,
    body: Record<string, unknown> | undefined,
    model: string,
    call: UpstreamCall,
    signal: CancelSignal,
  ): Promise<UpstreamResponse> {
    const headers: Record<string, string> = {
      accept: body?.stream === true ? "text/event-stream" : "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    const timer = setTimeout(() => this.#abortCall(call, "connect_timeout"), call.headersTimeoutMs);
    let response: UpstreamResponse;
    try {
      response = await this.#transport.send({
        method,
        path,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: call.cancellation,
      });
    } catch (error) {
      throw this.#unreachable(call, signal, error);
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 200 && response.status < 300) return response;
    const text = await readBoundedText(response, maxErrorBodyBytes).catch(() => "");
    if (response.status === 404 && model === "") {
      // Not about a model: the endpoint itself is missing, so the API base is wrong.
      throw new OstromError(
        "backend_unavailable",
        `Backend "${this.name}" has no ${path} at ${this.#baseUrl} (is the API base right, e.g. ending in /v1?).`,
      );
    }
    throw toUpstreamError(response.status, text, {
      backend: this.name,
      model,
      retryAfter: response.getHeader("retry-after") ?? null,
    });
  }

  async #readJson(response: UpstreamResponse, call: UpstreamCall, signal: CancelSignal): Promise<unknown> {
    let text: string;
    try {
      text = await readBoundedText(response, this.#maxResponseBytes, true);
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw this.#malformed(error.message);
      throw this.#unreachable(call, signal, error);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw this.#malformed("its answer is not JSON");
    }
  }

  /** The request never got a usable answer: cancelled by the client, or the backend is unavailable. */
  #unreachable(call: UpstreamCall, signal: CancelSignal, error: unknown): OstromError {
    if (call.reason === "disposed") return new OstromError("shutting_down", "The engine is shutting down.");
    if (call.reason === "connect_timeout") {
      return new OstromError(
        "backend_unavailable",
        `Backend "${this.name}" did not answer within ${call.headersTimeoutMs} ms.`,
      );
    }
    if (signal.aborted) return new OstromError("request_cancelled", "The request was cancelled.");
    return new OstromError(
      "backend_unavailable",
      `Backend "${this.name}" could not be reached (${describeNetworkError(error)}).`,
      { cause: error },
    );
  }

  /** A stream that failed after the upstream had accepted the request. */
  #broken(call: UpstreamCall, events: number, error: unknown): OstromError {
    if (call.reason === "disposed") return new OstromError("shutting_down", "The engine is shutting down.");
    const why =
      call.reason === "idle_timeout"
        ? `sent nothing for ${this.#idleTimeoutMs} ms`
        : `broke off (${describeNetworkError(error)})`;
    return new OstromError(
      "backend_unavailable",
      `Backend "${this.name}" ${why} after ${events} event(s) of the answer.`,
      { cause: error },
    );
  }

  #malformed(what: string): OstromError {
    return new OstromError(
      "backend_unavailable",
      `Backend "${this.name}" does not speak the OpenAI API as expected: ${what}.`,
    );
  }
}

class ResponseTooLargeError extends Error {
  constructor(limit: number) {
    super(`its answer is larger than ${limit} bytes`);
  }
}

/** Reads a body as text up to `limit` bytes; past that it stops and either cuts or throws. */
async function readBoundedText(
  response: UpstreamResponse,
  limit: number,
  throwIfLarger = false,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const value = await response.read();
    if (value === undefined) return text + decoder.decode();
    bytes += value.byteLength;
    if (bytes > limit) {
      response.cancel();
      if (throwIfLarger) throw new ResponseTooLargeError(limit);
      return text + decoder.decode(value.subarray(0, value.byteLength - (bytes - limit)));
    }
    text += decoder.decode(value, { stream: true });
  }
}

async function drainResponse(response: UpstreamResponse, call: UpstreamCall): Promise<void> {
  const timer = setTimeout(() => call.cancellation.abort(), drainTimeoutMs);
  try {
    while ((await response.read()) !== undefined) {
      // Whatever follows [DONE] is of no use.
    }
  } catch {
    // Cut off or aborted: the connection is closed instead of reused, nothing else is lost.
  } finally {
    clearTimeout(timer);
  }
}

function toEmbeddingResult(answer: unknown, inputs: readonly string[], backend: string): EmbeddingResult {
  const malformed = (what: string) =>
    new OstromError(
      "backend_unavailable",
      `Backend "${backend}" does not speak the OpenAI API as expected: its embeddings ${what}.`,
    );
  const data = isRecord(answer) && Array.isArray(answer.data) ? answer.data : undefined;
  if (data === undefined) throw malformed("answer has no `data` list");
  if (data.length !== inputs.length) throw malformed(`number ${data.length} for ${inputs.length} inputs`);
  const vectors: number[][] = new Array(inputs.length);
  for (const [position, entry] of data.entries()) {
    if (!isRecord(entry)) throw malformed("list holds something else than objects");
    const index = typeof entry.index === "number" ? entry.index : position;
    if (!Number.isInteger(index) || index < 0 || index >= inputs.length || vectors[index] !== undefined)
      throw malformed("have missing or repeated indices");
    vectors[index] = readVector(entry.embedding, malformed);
  }
  const usage = isRecord(answer) && isRecord(answer.usage) ? answer.usage.prompt_tokens : undefined;
  // Without usage from the upstream: ~4 characters per token, as for chat (see StreamAssembler.finish).
  const promptTokens =
    typeof usage === "number" && Number.isFinite(usage) && usage >= 0
      ? usage
      : inputs.reduce((total, input) => total + Math.ceil(input.length / 4), 0);
  return { vectors, usage: { promptTokens } };
}

function readVector(value: unknown, malformed: (what: string) => OstromError): number[] {
  if (typeof value === "string") {
    // Asked for floats, but a server that sends base64 anyway still means little-endian float32.
    const bytes = Buffer.from(value, "base64");
    if (bytes.byteLength % 4 !== 0) throw malformed("hold a base64 vector of a bad length");
    return Array.from(new Float32Array(new Uint8Array(bytes).buffer));
  }
  if (!Array.isArray(value) || !value.every((x) => typeof x === "number"))
    throw malformed("hold a vector that is not a list of numbers");
  return value as number[];
}

/** `ECONNREFUSED`, `ENOTFOUND`, … from node's errors, or undici's "fetch failed" and its nested causes. */
function describeNetworkError(error: unknown): string {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 4; depth++) {
    if (!isRecord(current)) break;
    if (typeof current.code === "string" && current.code !== "") return current.code;
    if (
      Array.isArray(current.errors) &&
      isRecord(current.errors[0]) &&
      typeof current.errors[0].code === "string"
    )
      return current.errors[0].code;
    current = current.cause;
  }
  return error instanceof Error ? error.message : String(error);
}

const utf8 = new TextDecoder();

/** Whether the upstream answered with an SSE stream (`text/event-stream`). */
function isEventStream(response: UpstreamResponse): boolean {
  return response.getHeader("content-type")?.toLowerCase().startsWith("text/event-stream") === true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
