// The local engine with real runner processes on the tiny generated model: replacing runners when a
// new engine build is installed (`reloadWhenIdle`) never cuts a running request short.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { getTinyModelPath } from "../../../test/helpers/test-models.ts";
import type { GenerationEvent, ModelHandle } from "../engine.ts";
import { LocalEngine } from "./local-engine.ts";

const engine = new LocalEngine({
  threads: 1,
  contextSize: 512,
  parallel: 2,
  maxQueue: 4,
  keepAliveMs: 60_000,
  maxLoadedModels: 1,
  memoryLimit: 0,
  maxOutputTokens: 64,
});
after(() => engine[Symbol.asyncDispose]());

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const loadedPids = () => engine.listLoaded().map((model) => model.pid);

test("reloadWhenIdle unloads an idle model at once and a busy one only when its requests end", async () => {
  const model: ModelHandle = {
    ref: "tiny:latest",
    digest: "sha256:reload-test",
    path: await getTinyModelPath(),
  };
  const signal = new AbortController().signal;

  await engine.load(model, signal);
  const [idlePid] = loadedPids();
  engine.reloadWhenIdle();
  await waitUntil(() => loadedPids().length === 0);

  const events: AsyncIterator<GenerationEvent> = engine
    .complete(
      {
        model,
        prompt: "Once upon a time",
        sampling: { maxTokens: 40, temperature: 0 },
        responseFormat: { type: "text" },
      },
      signal,
    )
    [Symbol.asyncIterator]();
  const first = await events.next();
  assert.equal(first.done, false);
  const [busyPid] = loadedPids();
  assert.notEqual(busyPid, idlePid, "the next request started a new runner");

  engine.reloadWhenIdle();
  assert.deepEqual(loadedPids(), [busyPid], "a busy runner is kept while it serves");
  let last: GenerationEvent | undefined;
  for (let next = await events.next(); !next.done; next = await events.next()) last = next.value;
  assert.equal(last?.type, "done");
  assert.notEqual(last?.type === "done" && last.finishReason, "cancelled");
  await waitUntil(() => loadedPids().length === 0);

  await engine.load(model, signal);
  const [freshPid] = loadedPids();
  assert.ok(freshPid !== busyPid && freshPid !== idlePid);
  // Runners started after the reload are kept as usual.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(loadedPids(), [freshPid]);
});
