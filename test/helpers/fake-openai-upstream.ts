// A small, real OpenAI-compatible HTTP server (node:http) for tests and the gateway benchmark: it plays
// the part of vLLM, llama.cpp's server or Ollama behind Ostrom's remote engine. It speaks
// `/v1/models`, `/v1/chat/completions` and `/v1/completions` (streamed or not) with deterministic text
// of N tokens, `/v1/embeddings`, and can be told to misbehave: refuse connections, reset them, answer
// an error status with an OpenAI error body, drop the connection mid-stream, or never answer.
// It is fast by default (no delay, one write per answer) so that a benchmark measures the gateway.
// Test tooling only: nothing in `src/` may import this file.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type FakeUpstreamBehavior =
  /** Answer normally. */
  | { kind: "ok" }
  /** Stop listening and close every connection: new connections are refused. */
  | { kind: "refuse" }
  /** Accept requests and reset their connection without answering. */
  | { kind: "reset" }
  /** Answer every request with this status and body (an OpenAI error body by default). */
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  /** Stream `afterTokens` tokens (after the role chunk), then destroy the connection. */
  | { kind: "drop"; afterTokens: number }
  /** Accept requests and never answer. */
  | { kind: "hang" };

export interface FakeUpstreamOptions {
  /** Model ids served; others get 404. Default `["fake-model"]`. */
  models?: string[];
  /** Tokens per answer unless `max_tokens` asks for fewer. Default 16. */
  tokens?: number;
  /** Delay before each streamed token, in milliseconds. Default 0: the whole answer in one write. */
  tokenDelayMs?: number;
  /** Prompt tokens (words) above which requests fail as too long, as vLLM words it. Default 4096. */
  contextTokens?: number;
  /** Whether to send usage when `stream_options.include_usage` asks for it. Default true. */
  sendUsage?: boolean;
  /** Line ending of the SSE stream. Default "\n". */
  lineEnding?: "\n" | "\r\n";
  /** Keep the last this many request bodies in `requests`. Default 100. */
  keepRequests?: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export interface FakeUpstream {
  /** The API base, `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  readonly port: number;
  /** The last requests received, oldest first. */
  readonly requests: ReceivedRequest[];
  /** Streams whose client went away before the answer was complete. */
  readonly abortedStreams: number;
  /** Resolves when the next stream is abandoned by its client. */
  waitForAbortedStream(): Promise<void>;
  behave(behavior: FakeUpstreamBehavior): Promise<void>;
  close(): Promise<void>;
}

/** The deterministic text of token `index`. */
export function fakeToken(index: number): string {
  return `t${index} `;
}

/** The tool call the fake makes when tools are offered: these arguments, streamed in three pieces. */
export const fakeToolArguments = '{"city":"Paris","days":3}';

export async function startFakeOpenAIUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const models = options.models ?? ["fake-model"];
  const tokens = options.tokens ?? 16;
  const tokenDelayMs = options.tokenDelayMs ?? 0;
  const contextTokens = options.contextTokens ?? 4096;
  const sendUsage = options.sendUsage ?? true;
  const eol = options.lineEnding ?? "\n";
  const keepRequests = options.keepRequests ?? 100;

  let behavior: FakeUpstreamBehavior = { kind: "ok" };
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let abortedStreams = 0;
  let abortWaiters: Array<() => void> = [];

  const onStreamAborted = () => {
    abortedStreams += 1;
    const waiters = abortWaiters;
    abortWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        sendJson(res, 400, openAIError("We could not parse the JSON body of your request.", null, null));
        return;
      }
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      requests.push({ method: req.method ?? "GET", path, headers: req.headers, body });
      if (requests.length > keepRequests) requests.shift();
      handle(req.method ?? "GET", path, body, res);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function handle(method: string, path: string, body: unknown, res: ServerResponse): void {
    switch (behavior.kind) {
      case "hang":
        return;
      case "reset":
        res.socket?.destroy();
        return;
      case "status":
        sendJson(
          res,
          behavior.status,
          behavior.body ?? openAIError(`Fake upstream answers ${behavior.status}.`, null, null),
          behavior.headers,
        );
        return;
      default:
        break;
    }
    if (method === "GET" && path === "/v1/models") {
      sendJson(res, 200, {
        object: "list",
        data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" })),
      });
      return;
    }
    if (method !== "POST" || !["/v1/chat/completions", "/v1/completions", "/v1/embeddings"].includes(path)) {
      sendJson(res, 404, openAIError(`Unknown endpoint ${method} ${path}.`, null, "not_found"));
      return;
    }
    const request = isRecord(body) ? body : {};
    const model = typeof request.model === "string" ? request.model : "";
    if (!models.includes(model)) {
      sendJson(res, 404, openAIError(`The model \`${model}\` does not exist.`, "model", "model_not_found"));
      return;
    }
    if (typeof request.temperature === "number" && request.temperature > 2) {
      sendJson(res, 400, openAIError("temperature must be at most 2.", "temperature", null));
      return;
    }
    if (path === "/v1/embeddings") {
      answerEmbeddings(request, model, res);
      return;
    }
    const promptTokens = countPromptTokens(path, request);
    if (promptTokens > contextTokens) {
      // vLLM's flat error shape and wording.
      sendJson(res, 400, {
        object: "error",
        message: `This model's maximum context length is ${contextTokens} tokens. However, you requested ${promptTokens} tokens in the messages.`,
        type: "BadRequestError",
        param: null,
        code: 400,
      });
      return;
    }
    answerGeneration(path === "/v1/chat/completions", request, model, promptTokens, res);
  }

  function answerGeneration(
    chat: boolean,
    request: Record<string, unknown>,
    model: string,
    promptTokens: number,
    res: ServerResponse,
  ): void {
    const maxTokens = typeof request.max_tokens === "number" ? request.max_tokens : Number.POSITIVE_INFINITY;
    const count = Math.min(tokens, maxTokens);
    const finishReason = count < tokens ? "length" : "stop";
    const toolName = chat ? pickToolName(request) : undefined;
    const id = chat ? "chatcmpl-fake" : "cmpl-fake";
    const object = chat ? "chat.completion.chunk" : "text_completion";
    const head = { id, object, created: 0, model };
    const usage = (completion: number) => ({
      prompt_tokens: promptTokens,
      completion_tokens: completion,
      total_tokens: promptTokens + completion,
    });
    const text = Array.from({ length: count }, (_, index) => fakeToken(index)).join("");

    if (request.stream !== true) {
      if (toolName !== undefined) {
        const message = {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_fake_0",
              type: "function",
              function: { name: toolName, arguments: fakeToolArguments },
            },
          ],
        };
        sendJson(res, 200, {
          ...head,
          object: "chat.completion",
          choices: [{ index: 0, message, finish_reason: "tool_calls" }],
          usage: usage(3),
        });
        return;
      }
      const choice = chat
        ? { index: 0, message: { role: "assistant", content: text }, finish_reason: finishReason }
        : { index: 0, text, finish_reason: finishReason };
      sendJson(res, 200, {
        ...head,
        object: chat ? "chat.completion" : "text_completion",
        choices: [choice],
        usage: usage(count),
      });
      return;
    }

    const includeUsage =
      sendUsage && isRecord(request.stream_options) && request.stream_options.include_usage === true;
    const event = (data: unknown) => `data: ${JSON.stringify(data)}${eol}${eol}`;
    const chunk = (delta: Record<string, unknown>, reason: string | null) =>
      event({
        ...head,
        choices: [
          chat
            ? { index: 0, delta, finish_reason: reason }
            : { index: 0, text: delta.content ?? "", finish_reason: reason },
        ],
      });
    const events: string[] = [];
    let streamed: number;
    if (toolName !== undefined) {
      const pieces = [
        fakeToolArguments.slice(0, 9),
        fakeToolArguments.slice(9, 18),
        fakeToolArguments.slice(18),
      ];
      events.push(
        chunk({ role: "assistant", content: null }, null),
        chunk(
          {
            tool_calls: [
              { index: 0, id: "call_fake_0", type: "function", function: { name: toolName, arguments: "" } },
            ],
          },
          null,
        ),
        ...pieces.map((piece) => chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null)),
        chunk({}, "tool_calls"),
      );
      streamed = pieces.length;
    } else {
      if (chat) events.push(chunk({ role: "assistant", content: "" }, null));
      for (let index = 0; index < count; index++) events.push(chunk({ content: fakeToken(index) }, null));
      events.push(chunk({}, finishReason));
      streamed = count;
    }
    if (includeUsage) events.push(event({ ...head, choices: [], usage: usage(streamed) }));
    events.push(`data: [DONE]${eol}${eol}`);

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    });
    // A `drop` cuts after the role chunk (chat) plus `afterTokens` token chunks.
    const dropAt =
      behavior.kind === "drop" ? Math.min(events.length, behavior.afterTokens + (chat ? 1 : 0)) : undefined;
    if (tokenDelayMs === 0 && dropAt === undefined) {
      res.end(events.join(""));
      return;
    }
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    res.on("close", () => {
      clearTimeout(timer);
      if (next < events.length) onStreamAborted();
    });
    const writeNext = () => {
      if (dropAt !== undefined && next >= dropAt) {
        // Let what was written reach the client before the connection dies.
        res.socket?.end(() => res.socket?.destroy());
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const piece = events[next++];
      if (piece === undefined) {
        res.end();
        return;
      }
      res.write(piece);
      if (next === events.length) {
        res.end();
        return;
      }
      timer = setTimeout(writeNext, tokenDelayMs);
    };
    writeNext();
  }

  function answerEmbeddings(request: Record<string, unknown>, model: string, res: ServerResponse): void {
    const inputs = typeof request.input === "string" ? [request.input] : request.input;
    if (
      !Array.isArray(inputs) ||
      inputs.length === 0 ||
      !inputs.every((input) => typeof input === "string")
    ) {
      sendJson(res, 400, openAIError("input must be a string or a list of strings.", "input", null));
      return;
    }
    const promptTokens = inputs.reduce((total, input) => total + countWords(input), 0);
    sendJson(res, 200, {
      object: "list",
      model,
      data: inputs.map((input, index) => ({ object: "embedding", index, embedding: embedText(input) })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  }

  const port = await listen(server, 0);
  const url = `http://127.0.0.1:${port}/v1`;

  return {
    url,
    port,
    requests,
    get abortedStreams() {
      return abortedStreams;
    },
    waitForAbortedStream: () => new Promise<void>((resolve) => abortWaiters.push(resolve)),
    async behave(next: FakeUpstreamBehavior) {
      const wasRefusing = behavior.kind === "refuse";
      behavior = next;
      if (next.kind === "refuse" && !wasRefusing) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
      } else if (next.kind !== "refuse" && wasRefusing) {
        await listen(server, port);
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function openAIError(message: string, param: string | null, code: string | null) {
  return { error: { message, type: "invalid_request_error", param, code } };
}

/** The function the fake calls: the one `tool_choice` names, else the first tool, unless "none". */
function pickToolName(request: Record<string, unknown>): string | undefined {
  if (!Array.isArray(request.tools) || request.tools.length === 0 || request.tool_choice === "none") {
    return undefined;
  }
  const choice = request.tool_choice;
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === "string") {
    return choice.function.name;
  }
  const first: unknown = request.tools[0];
  return isRecord(first) && isRecord(first.function) && typeof first.function.name === "string"
    ? first.function.name
    : undefined;
}

/** Prompt "tokens" are whitespace-separated words: enough for deterministic usage figures. */
function countPromptTokens(path: string, request: Record<string, unknown>): number {
  if (path === "/v1/completions") return countWords(typeof request.prompt === "string" ? request.prompt : "");
  if (!Array.isArray(request.messages)) return 0;
  return request.messages.reduce<number>(
    (total, message) =>
      total + (isRecord(message) && typeof message.content === "string" ? countWords(message.content) : 0),
    0,
  );
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

/** An 8-dimensional vector that depends only on the text. */
function embedText(text: string): number[] {
  const vector = new Array<number>(8).fill(0);
  for (let index = 0; index < text.length; index++) {
    const slot = index % 8;
    vector[slot] = (vector[slot] ?? 0) + text.charCodeAt(index) / 1000;
  }
  return vector.map((value) => Math.round(value * 1000) / 1000);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
