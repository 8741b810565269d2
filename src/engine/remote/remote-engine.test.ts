import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type FakeUpstream,
  fakeToken,
  fakeToolArguments,
  startFakeOpenAIUpstream,
} from "../../../test/helpers/fake-openai-upstream.ts";
import { type ErrorCode, isOstromError } from "../../errors.ts";
import type { ChatRequest, CompletionRequest, GenerationEvent, ModelHandle } from "../engine.ts";
import { RemoteEngine, type RemoteEngineOptions } from "./remote-engine.ts";

const model: ModelHandle = { ref: "fake-model", digest: "remote:fake/fake-model", path: "" };

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model,
    messages: [{ role: "user", content: "tell me a story" }],
    sampling: {},
    responseFormat: { type: "text" },
    tools: [],
    toolChoice: { type: "none" },
    ...overrides,
  };
}

function completionRequest(overrides: Partial<CompletionRequest> = {}): CompletionRequest {
  return { model, prompt: "Once upon a time", sampling: {}, responseFormat: { type: "text" }, ...overrides };
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const collected: GenerationEvent[] = [];
  for await (const event of events) collected.push(event);
  return collected;
}

function textOf(events: readonly GenerationEvent[]): string {
  return events.map((event) => (event.type === "text" ? event.text : "")).join("");
}

function doneOf(events: readonly GenerationEvent[]) {
  const last = events.at(-1);
  assert.equal(last?.type, "done", "the last event is `done`");
  assert.equal(events.filter((event) => event.type === "done").length, 1, "exactly one `done`");
  return last as Extract<GenerationEvent, { type: "done" }>;
}

function expectedText(count: number): string {
  return Array.from({ length: count }, (_, index) => fakeToken(index)).join("");
}

async function rejectsWith(run: () => Promise<unknown>, code: ErrorCode, check?: (error: Error) => void) {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(isOstromError(error, code), `expected ${code}, got ${String(error)}`);
    check?.(error);
    return true;
  });
}

/** A fetch that answers every request with this SSE body, delivered in the given pieces. */
function fetchStreaming(pieces: readonly Uint8Array[], options: { stallAfter?: boolean } = {}): typeof fetch {
  return async (_url, init) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of pieces) controller.enqueue(piece);
          if (!options.stallAfter) controller.close();
          // As the real fetch does: aborting the request errors its body.
          else init?.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
        },
      }),
      { status: 200, headers: { "content-type": "text/event-stream" } },
    );
}

describe("RemoteEngine against a fake OpenAI upstream", () => {
  let upstream: FakeUpstream;
  let engine: RemoteEngine;
  const signal = new AbortController().signal;
  const createEngine = (options: Partial<RemoteEngineOptions> = {}) =>
    new RemoteEngine({ name: "fake", baseUrl: upstream.url, ...options });

  before(async () => {
    upstream = await startFakeOpenAIUpstream();
    engine = createEngine();
  });
  after(async () => {
    await engine[Symbol.asyncDispose]();
    await upstream.close();
  });

  test("chat streams the text as deltas, then one done with the upstream's usage", async () => {
    const events = await collect(engine.chat(chatRequest(), signal));
    // The fake sends the whole answer in one write: what arrives together goes on together.
    assert.ok(events.filter((event) => event.type === "text").length >= 1);
    assert.equal(textOf(events), expectedText(16));
    assert.deepEqual(doneOf(events), {
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 4, completionTokens: 16 },
      toolCalls: [],
    });
    assert.equal(engine.pendingRequests, 0);
  });

  test("max_tokens ends with finish reason length; completions stream the same way", async () => {
    const chat = await collect(engine.chat(chatRequest({ sampling: { maxTokens: 4 } }), signal));
    assert.equal(textOf(chat), expectedText(4));
    assert.equal(doneOf(chat).finishReason, "length");
    assert.deepEqual(doneOf(chat).usage, { promptTokens: 4, completionTokens: 4 });

    const completion = await collect(
      engine.complete(completionRequest({ sampling: { maxTokens: 3 } }), signal),
    );
    assert.equal(textOf(completion), expectedText(3));
    assert.deepEqual(doneOf(completion), {
      type: "done",
      finishReason: "length",
      usage: { promptTokens: 4, completionTokens: 3 },
      toolCalls: [],
    });
  });

  test("the request reaches the upstream as OpenAI JSON, streamed with usage, named by model.ref", async () => {
    await collect(
      engine.chat(
        chatRequest({
          messages: [
            { role: "system", content: "be brief" },
            { role: "user", content: "weather?" },
            { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "weather", arguments: "{}" }] },
            { role: "tool", content: "sunny", toolCallId: "c1", name: "weather" },
          ],
          sampling: {
            maxTokens: 5,
            temperature: 0,
            stop: ["END"],
            seed: 7,
            topK: 40,
            logitBias: { 12: -100 },
          },
          responseFormat: { type: "json_schema", schema: { type: "object" } },
          tools: [{ name: "weather", description: "the weather", parameters: { type: "object" } }],
          toolChoice: { type: "none" },
        }),
        signal,
      ),
    );
    const received = upstream.requests.at(-1);
    assert.equal(received?.path, "/v1/chat/completions");
    assert.equal(received?.headers.accept, "text/event-stream");
    assert.deepEqual(received?.body, {
      model: "fake-model",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "{}" } }],
        },
        { role: "tool", content: "sunny", tool_call_id: "c1", name: "weather" },
      ],
      max_tokens: 5,
      temperature: 0,
      top_k: 40,
      seed: 7,
      stop: ["END"],
      logit_bias: { "12": -100 },
      response_format: { type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } },
      tools: [
        {
          type: "function",
          function: { name: "weather", description: "the weather", parameters: { type: "object" } },
        },
      ],
      tool_choice: "none",
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test("the API key is sent as a bearer token", async () => {
    await using keyed = createEngine({ apiKey: "sk-upstream" });
    await collect(keyed.complete(completionRequest(), signal));
    assert.equal(upstream.requests.at(-1)?.headers.authorization, "Bearer sk-upstream");
  });

  test("tool calls are assembled from their streamed fragments", async () => {
    const tools = [
      { name: "lookup", parameters: { type: "object" } },
      { name: "forecast", parameters: { type: "object" } },
    ];
    const events = await collect(
      engine.chat(chatRequest({ tools, toolChoice: { type: "function", name: "forecast" } }), signal),
    );
    assert.deepEqual((upstream.requests.at(-1)?.body as { tool_choice?: unknown } | undefined)?.tool_choice, {
      type: "function",
      function: { name: "forecast" },
    });
    assert.equal(textOf(events), "");
    assert.deepEqual(doneOf(events), {
      type: "done",
      finishReason: "tool_calls",
      usage: { promptTokens: 4, completionTokens: 3 },
      toolCalls: [{ id: "call_fake_0", name: "forecast", arguments: fakeToolArguments }],
    });
  });

  test("embeddings, the model list and the health check", async () => {
    const result = await engine.embed({ model, inputs: ["a b", "c"] }, signal);
    assert.equal(result.vectors.length, 2);
    assert.equal(result.vectors[0]?.length, 8);
    assert.notDeepEqual(result.vectors[0], result.vectors[1]);
    assert.deepEqual(result.usage, { promptTokens: 3 });
    assert.deepEqual(upstream.requests.at(-1)?.body, {
      model: "fake-model",
      input: ["a b", "c"],
      encoding_format: "float",
    });
    assert.deepEqual(await engine.listModels(signal), ["fake-model"]);
    assert.equal(await engine.checkHealth(signal), true);
  });

  test("a wrong API base: the model list fails as backend_unavailable, naming the base", async () => {
    await using wrong = new RemoteEngine({ name: "wrong", baseUrl: upstream.url.replace(/\/v1$/, "") });
    await rejectsWith(
      () => wrong.listModels(signal),
      "backend_unavailable",
      (error) => assert.match(error.message, /has no \/models at http:\/\/127\.0\.0\.1:\d+ /),
    );
  });

  test("load and unload do nothing; nothing is listed as loaded", async () => {
    await engine.load(model, signal);
    await engine.unload(model.digest);
    assert.deepEqual(engine.listLoaded(), []);
  });

  test("aborting the signal mid-stream ends with done: cancelled and closes the upstream stream at once", async () => {
    const slow = await startFakeOpenAIUpstream({ tokens: 10_000, tokenDelayMs: 5 });
    try {
      await using remote = new RemoteEngine({ name: "slow", baseUrl: slow.url });
      const controller = new AbortController();
      const upstreamClosed = slow.waitForAbortedStream();
      const events: GenerationEvent[] = [];
      for await (const event of remote.chat(chatRequest(), controller.signal)) {
        events.push(event);
        if (events.length === 3) {
          assert.equal(remote.pendingRequests, 1);
          controller.abort();
        }
      }
      await upstreamClosed;
      assert.equal(textOf(events), expectedText(3));
      const done = doneOf(events);
      assert.equal(done.finishReason, "cancelled");
      assert.equal(done.usage.completionTokens, 3);
      assert.equal(remote.pendingRequests, 0);

      // A consumer that just stops reading also stops the upstream.
      const closedAgain = slow.waitForAbortedStream();
      for await (const event of remote.complete(completionRequest(), signal)) {
        if (event.type === "text") break;
      }
      await closedAgain;
      assert.equal(remote.pendingRequests, 0);
    } finally {
      await slow.close();
    }
  });

  test("an already aborted signal: request_cancelled, and nothing is sent", async () => {
    const before = upstream.requests.length;
    const controller = new AbortController();
    controller.abort();
    await rejectsWith(() => collect(engine.chat(chatRequest(), controller.signal)), "request_cancelled");
    await rejectsWith(() => engine.embed({ model, inputs: ["x"] }, controller.signal), "request_cancelled");
    assert.equal(upstream.requests.length, before);
  });

  test("without usage from the upstream: completion tokens = text chunks, prompt tokens ≈ characters / 4", async () => {
    const quiet = await startFakeOpenAIUpstream({ sendUsage: false, lineEnding: "\r\n" });
    try {
      await using remote = new RemoteEngine({ name: "quiet", baseUrl: `${quiet.url}/` });
      const events = await collect(remote.chat(chatRequest(), signal));
      assert.equal(textOf(events), expectedText(16));
      assert.deepEqual(doneOf(events).usage, {
        promptTokens: Math.ceil("tell me a story".length / 4),
        completionTokens: 16,
      });
    } finally {
      await quiet.close();
    }
  });

  describe("errors", () => {
    test("connection refused: backend_unavailable, and the health check says false", async () => {
      const down = await startFakeOpenAIUpstream();
      await down.behave({ kind: "refuse" });
      try {
        await using remote = new RemoteEngine({ name: "down", baseUrl: down.url });
        await rejectsWith(
          () => collect(remote.chat(chatRequest(), signal)),
          "backend_unavailable",
          (error) => assert.match(error.message, /"down" could not be reached \(ECONNREFUSED\)/),
        );
        await rejectsWith(() => remote.embed({ model, inputs: ["x"] }, signal), "backend_unavailable");
        await rejectsWith(() => remote.listModels(signal), "backend_unavailable");
        assert.equal(await remote.checkHealth(signal), false);
        // And back: the same engine serves again once the upstream listens.
        await down.behave({ kind: "ok" });
        assert.equal(await remote.checkHealth(signal), true);
        assert.equal(textOf(await collect(remote.chat(chatRequest(), signal))), expectedText(16));
      } finally {
        await down.close();
      }
    });

    test("an unknown host: backend_unavailable", async () => {
      await using remote = new RemoteEngine({
        name: "nowhere",
        baseUrl: "http://ostrom-no-such-host.invalid/v1",
        connectTimeoutMs: 5000,
      });
      await rejectsWith(() => collect(remote.complete(completionRequest(), signal)), "backend_unavailable");
    });

    test("no answer within connectTimeoutMs: backend_unavailable", async () => {
      const stuck = await startFakeOpenAIUpstream();
      await stuck.behave({ kind: "hang" });
      try {
        await using remote = new RemoteEngine({ name: "stuck", baseUrl: stuck.url, connectTimeoutMs: 100 });
        await rejectsWith(
          () => collect(remote.chat(chatRequest(), signal)),
          "backend_unavailable",
          (error) => assert.match(error.message, /did not answer within 100 ms/),
        );
        assert.equal(await remote.checkHealth(signal), false);
        assert.equal(remote.pendingRequests, 0);
      } finally {
        await stuck.close();
      }
    });

    test("upstream 5xx, 429, 401 and reset connections: backend_unavailable, with Retry-After kept", async () => {
      const failing = await startFakeOpenAIUpstream();
      try {
        await using remote = new RemoteEngine({ name: "failing", baseUrl: failing.url });
        await failing.behave({ kind: "status", status: 500 });
        await rejectsWith(
          () => collect(remote.chat(chatRequest(), signal)),
          "backend_unavailable",
          (error) => assert.match(error.message, /HTTP 500: Fake upstream answers 500/),
        );
        await failing.behave({ kind: "status", status: 503, headers: { "retry-after": "7" } });
        await rejectsWith(
          () => collect(remote.complete(completionRequest(), signal)),
          "backend_unavailable",
          (error) => assert.equal((error as { retryAfterSeconds?: number }).retryAfterSeconds, 7),
        );
        await failing.behave({ kind: "status", status: 429 });
        await rejectsWith(() => remote.embed({ model, inputs: ["x"] }, signal), "backend_unavailable");
        await failing.behave({ kind: "status", status: 401 });
        await rejectsWith(
          () => collect(remote.chat(chatRequest(), signal)),
          "backend_unavailable",
          (error) => assert.match(error.message, /credentials/),
        );
        await failing.behave({ kind: "reset" });
        await rejectsWith(() => collect(remote.chat(chatRequest(), signal)), "backend_unavailable");
      } finally {
        await failing.close();
      }
    });

    test("upstream 4xx keep their meaning: invalid_parameter with message and param, model_not_found", async () => {
      await rejectsWith(
        () => collect(engine.chat(chatRequest({ sampling: { temperature: 3 } }), signal)),
        "invalid_parameter",
        (error) => {
          assert.equal((error as { param?: string }).param, "temperature");
          assert.equal(error.message, "temperature must be at most 2.");
        },
      );
      await rejectsWith(
        () => collect(engine.chat(chatRequest({ model: { ...model, ref: "other-model" } }), signal)),
        "model_not_found",
        (error) => assert.match(error.message, /"other-model".*does not exist/),
      );
      await rejectsWith(
        () => engine.embed({ model: { ...model, ref: "other-model" }, inputs: ["x"] }, signal),
        "model_not_found",
      );
    });

    test("a prompt the upstream finds too long: context_length_exceeded with its message", async () => {
      const small = await startFakeOpenAIUpstream({ contextTokens: 3 });
      try {
        await using remote = new RemoteEngine({ name: "small", baseUrl: small.url });
        await rejectsWith(
          () => collect(remote.chat(chatRequest(), signal)),
          "context_length_exceeded",
          (error) => assert.match(error.message, /maximum context length is 3 tokens/),
        );
      } finally {
        await small.close();
      }
    });

    test("a stream dropped before the first event: backend_unavailable and no event", async () => {
      const dropping = await startFakeOpenAIUpstream();
      await dropping.behave({ kind: "drop", afterTokens: 0 });
      try {
        await using remote = new RemoteEngine({ name: "dropping", baseUrl: dropping.url });
        const events: GenerationEvent[] = [];
        await rejectsWith(
          async () => {
            for await (const event of remote.chat(chatRequest(), signal)) events.push(event);
          },
          "backend_unavailable",
          (error) => assert.match(error.message, /after 0 event/),
        );
        assert.deepEqual(events, []);
        assert.equal(remote.pendingRequests, 0);
      } finally {
        await dropping.close();
      }
    });

    test("a stream dropped after some tokens: those events, then backend_unavailable", async () => {
      const dropping = await startFakeOpenAIUpstream();
      await dropping.behave({ kind: "drop", afterTokens: 3 });
      try {
        await using remote = new RemoteEngine({ name: "dropping", baseUrl: dropping.url });
        const events: GenerationEvent[] = [];
        await rejectsWith(
          async () => {
            for await (const event of remote.chat(chatRequest(), signal)) events.push(event);
          },
          "backend_unavailable",
          (error) => assert.match(error.message, /after 3 event/),
        );
        assert.equal(textOf(events), expectedText(3));
        assert.ok(events.every((event) => event.type === "text"));
      } finally {
        await dropping.close();
      }
    });

    test("disposing the engine ends its streams and refuses new work", async () => {
      const slow = await startFakeOpenAIUpstream({ tokens: 10_000, tokenDelayMs: 5 });
      try {
        const remote = new RemoteEngine({ name: "slow", baseUrl: slow.url });
        const events: GenerationEvent[] = [];
        await rejectsWith(async () => {
          for await (const event of remote.chat(chatRequest(), signal)) {
            events.push(event);
            if (events.length === 1) await remote[Symbol.asyncDispose]();
          }
        }, "shutting_down");
        await rejectsWith(() => collect(remote.chat(chatRequest(), signal)), "shutting_down");
        assert.equal(remote.pendingRequests, 0);
      } finally {
        await slow.close();
      }
    });
  });
});

describe("RemoteEngine reading hand-made streams", () => {
  const signal = new AbortController().signal;
  const encoder = new TextEncoder();
  const engineFor = (fetchFn: typeof fetch, options: Partial<RemoteEngineOptions> = {}) =>
    new RemoteEngine({ name: "made", baseUrl: "http://127.0.0.1:9/v1", fetch: fetchFn, ...options });

  // Comments, CRLF, a bare-CR line end, an event split over two data lines, multi-byte characters
  // (2, 3 and 4 bytes in UTF-8), a tool call in fragments and usage after the finish reason.
  const stream = [
    ": keep-alive comment\r\n\r\n",
    'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\r\n\r\n',
    'data: {"choices":[{"index":0,"delta":{"content":"Café "},"finish_reason":null}]}\n\n',
    'event: message\nid: 3\ndata: {"choices":[{"index":0,"delta":{"content":"→ 🙂"},"finish_reason":null}]}\r\r',
    'data: {"choices":[{"index":0,\ndata: "delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\\"a\\""}}]},"finish_reason":null}]}\n\n',
    'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":null}]}\n\n',
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n',
    'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16}}\n\n',
    "data: [DONE]\n\n",
  ].join("");
  const bytes = encoder.encode(stream);
  const expected: GenerationEvent[] = [
    { type: "text", text: "Café " },
    { type: "text", text: "→ 🙂" },
    {
      type: "done",
      finishReason: "tool_calls",
      usage: { promptTokens: 11, completionTokens: 5 },
      toolCalls: [{ id: "call_1", name: "get", arguments: '{"a":1}' }],
    },
  ];

  test("the same text and done whatever the byte boundary the stream is split at", async () => {
    for (let split = 0; split <= bytes.length; split++) {
      const engine = engineFor(fetchStreaming([bytes.subarray(0, split), bytes.subarray(split)]));
      const events = await collect(engine.chat(chatRequest(), signal));
      assert.equal(textOf(events), "Café → 🙂", `split at byte ${split}`);
      assert.deepEqual(doneOf(events), expected.at(-1), `split at byte ${split}`);
      // Each read's events go on as (at most) one text event.
      assert.ok(events.length <= 3, `split at byte ${split}`);
    }
  });

  test("events that arrive in one read go on as one text event", async () => {
    const events = await collect(engineFor(fetchStreaming([bytes])).chat(chatRequest(), signal));
    assert.deepEqual(events, [{ type: "text", text: "Café → 🙂" }, expected.at(-1)]);
  });

  test("each event its own text event when every byte arrives alone", async () => {
    const pieces = Array.from(bytes, (byte) => Uint8Array.of(byte));
    assert.deepEqual(await collect(engineFor(fetchStreaming(pieces)).chat(chatRequest(), signal)), expected);
  });

  test("a stream that ends after its finish reason without [DONE] or a final blank line is complete", async () => {
    const body = 'data: {"choices":[{"index":0,"text":"hi","finish_reason":"stop"}]}';
    const events = await collect(
      engineFor(fetchStreaming([encoder.encode(body)])).complete(completionRequest(), signal),
    );
    assert.deepEqual(events, [
      { type: "text", text: "hi" },
      { type: "done", finishReason: "stop", usage: { promptTokens: 4, completionTokens: 1 }, toolCalls: [] },
    ]);
  });

  test("a stream that ends without a finish reason is broken: backend_unavailable", async () => {
    const body = 'data: {"choices":[{"index":0,"text":"hi","finish_reason":null}]}\n\n';
    const engine = engineFor(fetchStreaming([encoder.encode(body)]));
    await rejectsWith(() => collect(engine.complete(completionRequest(), signal)), "backend_unavailable");
  });

  test("an error the upstream sends inside the stream is mapped like an HTTP error", async () => {
    const error = (code: number, message: string) =>
      encoder.encode(`data: ${JSON.stringify({ error: { message, type: "BadRequestError", code } })}\n\n`);
    await rejectsWith(
      () => collect(engineFor(fetchStreaming([error(400, "bad stop")])).chat(chatRequest(), signal)),
      "invalid_parameter",
      (e) => assert.equal(e.message, "bad stop"),
    );
    await rejectsWith(
      () => collect(engineFor(fetchStreaming([error(500, "oops")])).chat(chatRequest(), signal)),
      "backend_unavailable",
    );
  });

  test("an event that is not JSON, or not a chunk: backend_unavailable", async () => {
    for (const body of ["data: <html>\n\n", 'data: {"foo":1}\n\n', 'data: {"choices":{}}\n\n']) {
      const engine = engineFor(fetchStreaming([encoder.encode(body)]));
      await rejectsWith(
        () => collect(engine.chat(chatRequest(), signal)),
        "backend_unavailable",
        (error) => assert.match(error.message, /does not speak the OpenAI API/),
      );
    }
  });

  test("a stream that goes silent for idleTimeoutMs: backend_unavailable after the events it sent", async () => {
    const body = 'data: {"choices":[{"index":0,"text":"hi","finish_reason":null}]}\n\n';
    const engine = engineFor(fetchStreaming([encoder.encode(body)], { stallAfter: true }), {
      idleTimeoutMs: 50,
    });
    const events: GenerationEvent[] = [];
    await rejectsWith(
      async () => {
        for await (const event of engine.complete(completionRequest(), signal)) events.push(event);
      },
      "backend_unavailable",
      (error) => assert.match(error.message, /sent nothing for 50 ms after 1 event/),
    );
    assert.deepEqual(events, [{ type: "text", text: "hi" }]);
  });

  test("embeddings: out-of-order indices are put back in order; base64 vectors are decoded", async () => {
    const base64 = Buffer.from(new Float32Array([0.5, -2]).buffer).toString("base64");
    const answer = {
      data: [
        { index: 1, embedding: base64 },
        { index: 0, embedding: [1, 2] },
      ],
    };
    const engine = engineFor(async () => Response.json(answer));
    const result = await engine.embed({ model, inputs: ["first", "second input"] }, signal);
    assert.deepEqual(result.vectors, [
      [1, 2],
      [0.5, -2],
    ]);
    // No usage from the upstream: about four characters per token.
    assert.deepEqual(result.usage, { promptTokens: 2 + 3 });
  });

  test("embeddings that do not match the inputs: backend_unavailable", async () => {
    const engine = engineFor(async () => Response.json({ data: [{ index: 0, embedding: [1] }] }));
    await rejectsWith(() => engine.embed({ model, inputs: ["a", "b"] }, signal), "backend_unavailable");
  });
});

describe("RemoteEngine asked for the whole answer (stream: false)", () => {
  let upstream: FakeUpstream;
  const signal = new AbortController().signal;
  const encoder = new TextEncoder();
  const engineFor = (fetchFn: typeof fetch, options: Partial<RemoteEngineOptions> = {}) =>
    new RemoteEngine({ name: "made", baseUrl: "http://127.0.0.1:9/v1", fetch: fetchFn, ...options });

  before(async () => {
    upstream = await startFakeOpenAIUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  test("one non-streamed upstream request; one text event and the same done as when streamed", async () => {
    await using remote = new RemoteEngine({ name: "fake", baseUrl: upstream.url });
    const streamed = await collect(remote.chat(chatRequest(), signal));
    const whole = await collect(remote.chat(chatRequest({ stream: false }), signal));
    const received = upstream.requests.at(-1);
    assert.equal(received?.headers.accept, "application/json");
    const body = received?.body as Record<string, unknown>;
    assert.equal(body.stream, false);
    assert.equal(body.stream_options, undefined, "stream_options only with a stream");
    assert.deepEqual(whole, [{ type: "text", text: expectedText(16) }, doneOf(streamed)]);
    assert.equal(remote.pendingRequests, 0);
  });

  test("completions, max_tokens (finish reason length) and a JSON schema are asked the same way", async () => {
    await using remote = new RemoteEngine({ name: "fake", baseUrl: upstream.url });
    const responseFormat = { type: "json_schema", schema: { type: "object" } } as const;
    const events = await collect(
      remote.complete(
        completionRequest({ sampling: { maxTokens: 3 }, responseFormat, stream: false }),
        signal,
      ),
    );
    assert.deepEqual(events, [
      { type: "text", text: expectedText(3) },
      {
        type: "done",
        finishReason: "length",
        usage: { promptTokens: 4, completionTokens: 3 },
        toolCalls: [],
      },
    ]);
    assert.deepEqual(upstream.requests.at(-1)?.body, {
      model: "fake-model",
      prompt: "Once upon a time",
      max_tokens: 3,
      response_format: { type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } },
      stream: false,
    });
  });

  test("tool calls come whole with done, and no text event", async () => {
    await using remote = new RemoteEngine({ name: "fake", baseUrl: upstream.url });
    const tools = [{ name: "forecast", parameters: { type: "object" } }];
    const events = await collect(
      remote.chat(chatRequest({ tools, toolChoice: { type: "auto" }, stream: false }), signal),
    );
    assert.deepEqual(events, [
      {
        type: "done",
        finishReason: "tool_calls",
        usage: { promptTokens: 4, completionTokens: 3 },
        toolCalls: [{ id: "call_fake_0", name: "forecast", arguments: fakeToolArguments }],
      },
    ]);
  });

  test("refusals keep their meaning; an unavailable upstream is backend_unavailable before any event", async () => {
    const failing = await startFakeOpenAIUpstream({ contextTokens: 3 });
    try {
      await using remote = new RemoteEngine({ name: "failing", baseUrl: failing.url });
      await rejectsWith(
        () => collect(remote.chat(chatRequest({ stream: false }), signal)),
        "context_length_exceeded",
      );
      await failing.behave({ kind: "status", status: 503, headers: { "retry-after": "7" } });
      await rejectsWith(
        () => collect(remote.chat(chatRequest({ stream: false }), signal)),
        "backend_unavailable",
      );
      await failing.behave({ kind: "reset" });
      await rejectsWith(
        () => collect(remote.chat(chatRequest({ stream: false }), signal)),
        "backend_unavailable",
      );
      assert.equal(remote.pendingRequests, 0);
    } finally {
      await failing.close();
    }
  });

  test("the wait for a whole answer is bounded by the connect timeout plus the response timeout", async () => {
    const stuck = await startFakeOpenAIUpstream();
    await stuck.behave({ kind: "hang" });
    try {
      await using remote = new RemoteEngine({
        name: "stuck",
        baseUrl: stuck.url,
        connectTimeoutMs: 60,
        idleTimeoutMs: 10,
        responseTimeoutMs: 40,
      });
      await rejectsWith(
        () => collect(remote.chat(chatRequest({ stream: false }), signal)),
        "backend_unavailable",
        (error) => assert.match(error.message, /did not answer within 100 ms/),
      );
      // A streamed request still waits for its headers only as long as the connect timeout.
      await rejectsWith(
        () => collect(remote.chat(chatRequest(), signal)),
        "backend_unavailable",
        (error) => assert.match(error.message, /did not answer within 60 ms/),
      );
    } finally {
      await stuck.close();
    }
  });

  test("without usage from the upstream: completion tokens ≈ characters / 4, prompt tokens likewise", async () => {
    const answer = {
      choices: [{ index: 0, message: { role: "assistant", content: "0123456789" }, finish_reason: "stop" }],
    };
    await using remote = engineFor(async () => Response.json(answer));
    assert.deepEqual(await collect(remote.chat(chatRequest({ stream: false }), signal)), [
      { type: "text", text: "0123456789" },
      {
        type: "done",
        finishReason: "stop",
        usage: { promptTokens: Math.ceil("tell me a story".length / 4), completionTokens: 3 },
        toolCalls: [],
      },
    ]);
  });

  test("an error in a 200 answer is mapped like an HTTP error; a body that is no answer is backend_unavailable", async () => {
    const error = {
      error: { message: "prompt is too long for this model", code: 400, type: "BadRequestError" },
    };
    await using erring = engineFor(async () => Response.json(error));
    await rejectsWith(
      () => collect(erring.chat(chatRequest({ stream: false }), signal)),
      "invalid_parameter",
    );
    for (const body of [
      "not json",
      "[1]",
      '{"choices":{}}',
      '{"choices":[{"index":0,"message":{"tool_calls":[7]}}]}',
    ]) {
      await using broken = engineFor(
        async () => new Response(body, { headers: { "content-type": "application/json" } }),
      );
      await rejectsWith(
        () => collect(broken.chat(chatRequest({ stream: false }), signal)),
        "backend_unavailable",
        (thrown) => assert.match(thrown.message, /does not speak the OpenAI API/),
      );
    }
  });

  test("an upstream that streams although asked not to is read as a stream", async () => {
    const stream = [
      'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}\n\n',
      "data: [DONE]\n\n",
    ].join("");
    await using remote = engineFor(fetchStreaming([encoder.encode(stream)]));
    const events = await collect(remote.chat(chatRequest({ stream: false }), signal));
    assert.equal(textOf(events), "ab");
    assert.equal(doneOf(events).finishReason, "stop");
  });

  test("an answer that stops arriving: backend_unavailable after idleTimeoutMs, with no event", async () => {
    const stalling: typeof fetch = async (_url, init) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode('{"choices":[{"index":0,'));
            init?.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
          },
        }),
        { status: 200, headers: { "content-type": "application/json" } },
      );
    await using remote = engineFor(stalling, { idleTimeoutMs: 50 });
    const events: GenerationEvent[] = [];
    await rejectsWith(
      async () => {
        for await (const event of remote.chat(chatRequest({ stream: false }), signal)) events.push(event);
      },
      "backend_unavailable",
      (error) => assert.match(error.message, /sent nothing for 50 ms after 0 event/),
    );
    assert.deepEqual(events, []);
  });

  test("an answer larger than maxResponseBytes: backend_unavailable", async () => {
    const answer = { choices: [{ index: 0, message: { content: "x".repeat(200) }, finish_reason: "stop" }] };
    await using remote = engineFor(async () => Response.json(answer), { maxResponseBytes: 100 });
    await rejectsWith(
      () => collect(remote.chat(chatRequest({ stream: false }), signal)),
      "backend_unavailable",
      (error) => assert.match(error.message, /larger than 100 bytes/),
    );
  });

  test("the client going away while the answer is awaited: the upstream request is torn down", async () => {
    const slow = await startFakeOpenAIUpstream();
    await slow.behave({ kind: "hang" });
    try {
      await using remote = new RemoteEngine({ name: "slow", baseUrl: slow.url });
      const controller = new AbortController();
      const pending = collect(remote.chat(chatRequest({ stream: false }), controller.signal));
      while (slow.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      await rejectsWith(() => pending, "request_cancelled");
      assert.equal(remote.pendingRequests, 0);
    } finally {
      await slow.close();
    }
  });
});
