import assert from "node:assert/strict";
import { test } from "node:test";
import type { GenerationEvent } from "../engine/engine.ts";
import { OstromError } from "../errors.ts";
import { startEvents } from "./dispatch-options.ts";

const done: GenerationEvent = {
  type: "done",
  finishReason: "stop",
  usage: { promptTokens: 1, completionTokens: 2 },
  toolCalls: [],
};

async function readAll(events: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const all: GenerationEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

test("all events come back unchanged, the first one included, and a queue position becomes a header", async () => {
  const sent: GenerationEvent[] = [
    { type: "queued", position: 3 },
    { type: "text", text: "a" },
    { type: "text", text: "b" },
    done,
  ];
  async function* events() {
    yield* sent;
  }
  const started = await startEvents(events());
  assert.deepEqual(started.headers, { "x-ostrom-queue-position": "3" });
  assert.deepEqual(await readAll(started.events), sent);
});

test("no header when the first event is not a queue position", async () => {
  async function* events(): AsyncGenerator<GenerationEvent> {
    yield { type: "text", text: "a" };
    yield done;
  }
  const started = await startEvents(events());
  assert.deepEqual(started.headers, {});
  assert.equal((await readAll(started.events)).length, 2);
});

test("an error before the first event is thrown by startEvents itself", async () => {
  const refuse = (): never => {
    throw new OstromError("queue_full_global", "full");
  };
  async function* events(): AsyncGenerator<GenerationEvent> {
    refuse();
    yield done;
  }
  await assert.rejects(
    startEvents(events()),
    (error) => error instanceof OstromError && error.code === "queue_full_global",
  );
});

test("stopping early closes the source at once, after the first event or later", async () => {
  for (const stopAfter of [1, 2]) {
    let closed = false;
    async function* events(): AsyncGenerator<GenerationEvent> {
      try {
        yield { type: "text", text: "a" };
        yield { type: "text", text: "b" };
        yield done;
      } finally {
        closed = true;
      }
    }
    const started = await startEvents(events());
    let read = 0;
    for await (const _event of started.events) if (++read === stopAfter) break;
    assert.equal(closed, true, `closed after ${stopAfter}`);
  }
});

test("an error after the first event reaches the reader", async () => {
  async function* events(): AsyncGenerator<GenerationEvent> {
    yield { type: "text", text: "a" };
    throw new OstromError("backend_unavailable", "gone");
  }
  const started = await startEvents(events());
  await assert.rejects(readAll(started.events), (error) => error instanceof OstromError);
});
