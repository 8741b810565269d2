// Fair sharing inside each evaluation step, end to end on the real engine: requests of two tenants go
// through the dispatcher into the local engine's runner process, which shares each step's batch between
// the tenants (src/engine/local/fair-batching.ts). Prompts are much longer than a step (512 tokens), so
// their processing spans many steps; each request asks for one token, so its `done` marks its first
// token. The assertions are on the order in which the answers finish, never on timings. The requests
// are submitted together, A's first; prompts are long (a tiny model with an 8K context) so that A's
// getting a step or two to itself before B's request reaches the runner cannot change the order.
//
// The second and third cases are chosen so that node-llama-cpp's own default (an equal split between
// sequences) would finish them the other way round: B's prompt is the longest, so only a split between
// tenants (three sequences of A share one half) or by weight lets B finish first.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createLocalBackend } from "../../src/dispatch/backend.ts";
import { Dispatcher, type WorkOwner } from "../../src/dispatch/dispatcher.ts";
import type { ModelHandle } from "../../src/engine/engine.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { createRandomLlamaGguf } from "../../src/gguf/create-random-llama.ts";
import { createTenantPath } from "../../src/scheduler/tenant-path.ts";
import { createTempDir } from "../helpers/test-models.ts";

const parallel = 4;
// About 0.7 tokens per character with the tiny model's vocabulary.
const sentence = "The quick brown fox jumps over the lazy dog while the cat sleeps. ";

function ownerOf(teamId: string, apiKeyId: string, teamWeight = 1): WorkOwner {
  return {
    path: createTenantPath({ organizationId: "org", teamId, teamWeight, apiKeyId }),
    keyName: apiKeyId,
  };
}

let promptNumber = 0;

/**
 * A prompt of about `tokens` tokens. Each starts differently: a sequence keeps what it evaluated last,
 * and a prompt sharing its start would be served from that cache instead of being processed.
 */
function promptOf(tokens: number): string {
  promptNumber += 1;
  const text = `${promptNumber} ${"#".repeat(promptNumber)} ${sentence.repeat(Math.ceil(tokens / 45))}`;
  return text.slice(0, Math.round(tokens / 0.69));
}

describe("each evaluation step is shared between tenants", () => {
  let engine: LocalEngine;
  let dispatcher: Dispatcher;
  let model: ModelHandle;

  before(async () => {
    const file = path.join(await createTempDir(), "tiny-8k.gguf");
    await createRandomLlamaGguf(file, { name: "Ostrom tiny test llama, 8K context", contextLength: 8192 });
    model = { ref: "tiny-8k:latest", digest: "sha256:step-fairness-tiny-8k", path: file };
    engine = new LocalEngine({
      threads: 1,
      contextSize: 8192,
      parallel,
      maxQueue: 16,
      keepAliveMs: 60_000,
      maxLoadedModels: 1,
      memoryLimit: 0,
      maxOutputTokens: 16,
    });
    dispatcher = new Dispatcher({
      backends: [createLocalBackend(engine, parallel)],
      maxQueued: 16,
      maxQueuedPerKey: 8,
      queueTimeoutMs: 0,
      defaultMaxTokens: 16,
    });
    await engine.load(model, AbortSignal.timeout(60_000));
  });
  after(async () => {
    await engine[Symbol.asyncDispose]();
  });

  /**
   * Submits every request at once, in the order given, and returns the names in the order their
   * answers finished, with the prompt tokens each reported.
   */
  async function runTogether(work: { name: string; owner: WorkOwner; promptTokens: number }[]) {
    // A fresh runner, so every sequence starts empty: a sequence still holding an earlier request's
    // tokens must erase them under node-llama-cpp's context lock, which its batch loop holds while any
    // prompt is still being processed, so such a request joins no step before the others' prompts are
    // done whatever the batching strategy (a limit of node-llama-cpp 3.x, see fair-batching.ts).
    await engine.unload(model.digest);
    await engine.load(model, AbortSignal.timeout(60_000));
    const finished: string[] = [];
    const promptTokens = new Map<string, number>();
    await Promise.all(
      work.map(async ({ name, owner, promptTokens: tokens }) => {
        const events = dispatcher.complete(
          {
            model,
            prompt: promptOf(tokens),
            sampling: { maxTokens: 1, temperature: 0 },
            responseFormat: { type: "text" },
          },
          { owner, signal: AbortSignal.timeout(120_000) },
        );
        for await (const event of events) {
          if (event.type !== "done") continue;
          finished.push(name);
          promptTokens.set(name, event.usage.promptTokens);
        }
      }),
    );
    return { finished, promptTokens };
  }

  test("a short prompt of B does not wait for A's long prompts", async () => {
    // With node-llama-cpp's default strategy it would: that strategy hands out more tokens than the
    // step holds (3.22.1 `maximumParallelismStrategy` never lowers `leftFreeTokens` when topping up),
    // so the first long prompt fills every step and B's prompt waits for A's to be done.
    const a = ownerOf("team-a", "a");
    const { finished, promptTokens } = await runTogether([
      { name: "a1", owner: a, promptTokens: 4000 },
      { name: "a2", owner: a, promptTokens: 4000 },
      { name: "b", owner: ownerOf("team-b", "b"), promptTokens: 100 },
    ]);
    assert.ok((promptTokens.get("a1") ?? 0) > 3500, `A's prompt: ${promptTokens.get("a1")} tokens`);
    assert.equal(finished[0], "b");
  });

  test("three long prompts of A share one half of each step; B's longer prompt finishes first", async () => {
    const a = ownerOf("team-a", "a");
    const { finished, promptTokens } = await runTogether([
      { name: "a1", owner: a, promptTokens: 4000 },
      { name: "a2", owner: a, promptTokens: 4000 },
      { name: "a3", owner: a, promptTokens: 4000 },
      { name: "b", owner: ownerOf("team-b", "b"), promptTokens: 4600 },
    ]);
    // The premise: B has the most prompt to process, so an equal split by sequence would finish it last.
    for (const name of ["a1", "a2", "a3"])
      assert.ok((promptTokens.get("b") ?? 0) > (promptTokens.get(name) ?? 0) + 400);
    assert.equal(finished[0], "b");
  });

  test("weights count: a team of weight 3 gets three quarters of each step", async () => {
    const { finished, promptTokens } = await runTogether([
      { name: "a", owner: ownerOf("team-a", "a", 1), promptTokens: 4000 },
      { name: "b", owner: ownerOf("team-b", "b", 3), promptTokens: 4800 },
    ]);
    assert.ok((promptTokens.get("b") ?? 0) > (promptTokens.get("a") ?? 0) + 500);
    assert.deepEqual(finished, ["b", "a"]);
  });
});
