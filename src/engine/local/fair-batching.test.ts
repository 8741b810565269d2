// Fair batching on a real node-llama-cpp context with the tiny generated model: prompts of several
// sequences are evaluated together with a small batch size, and every planned step is checked by its
// token counts. Also pins the node-llama-cpp internals tracing relies on: if an upgrade breaks them,
// `untracedSteps` stops being 0 here.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  getLlama,
  type Llama,
  type LlamaContext,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { getTinyModelPath } from "../../../test/helpers/test-models.ts";
import { wrapNativeContext } from "../../../test/helpers/wrap-native-context.ts";
import type { WorkShare } from "../engine.ts";
import { FairBatching, type FairBatchingStep } from "./fair-batching.ts";

const batchSize = 128;
const promptText = "The quick brown fox jumps over the lazy dog while the cat sleeps. ".repeat(40);

let llama: Llama;
let model: LlamaModel;
let prompt: Token[];

before(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: await getTinyModelPath() });
  prompt = model.tokenize(promptText);
});
after(async () => {
  await llama.dispose();
});

interface Run {
  steps: FairBatchingStep[];
  /** Indexes of the sequences in the order their prompts finished. */
  finished: number[];
  batching: FairBatching;
  warnings: string[];
}

/** Evaluates one prompt per entry of `work` on its own sequence, all at once. */
async function evaluateTogether(
  work: { owner: WorkShare | undefined; tokens: number }[],
  options: { attach?: boolean } = {},
): Promise<Run> {
  const steps: FairBatchingStep[] = [];
  const warnings: string[] = [];
  const batching = new FairBatching({
    onStep: (step) => steps.push(step),
    warn: (message) => warnings.push(message),
  });
  const context: LlamaContext = await model.createContext({
    contextSize: 1024,
    sequences: work.length,
    threads: 1,
    batchSize,
    batching: { itemPrioritizationStrategy: batching.strategy },
  });
  try {
    if (options.attach !== false) batching.attach(context);
    const finished: number[] = [];
    await Promise.all(
      work.map(async ({ owner, tokens }, index) => {
        assert.ok(tokens <= prompt.length);
        const sequence = context.getSequence();
        const release = batching.assign(sequence, owner);
        try {
          await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, tokens));
          finished.push(index);
        } finally {
          release();
        }
      }),
    );
    return { steps, finished, batching, warnings };
  } finally {
    await context.dispose();
  }
}

function grantedTo(step: FairBatchingStep, owner: string | undefined): number {
  return step.items.filter((item) => item.owner === owner).reduce((sum, item) => sum + item.granted, 0);
}

function pendingOf(step: FairBatchingStep, owner: string | undefined): number {
  return step.items.filter((item) => item.owner === owner).reduce((sum, item) => sum + item.pending, 0);
}

describe("fair batching on a real context", () => {
  test("a step is split between tenants, not sequences: three long prompts of A do not hold back B", async () => {
    const a = { key: "a", groups: [] };
    const b = { key: "b", groups: [] };
    const run = await evaluateTogether([
      { owner: a, tokens: 600 },
      { owner: a, tokens: 600 },
      { owner: a, tokens: 600 },
      { owner: b, tokens: 600 },
    ]);
    assert.deepEqual(run.batching.stats.untracedSteps, 0);
    assert.ok(run.batching.stats.tracedSteps >= 10);
    assert.deepEqual(run.warnings, []);
    let contended = 0;
    for (const step of run.steps) {
      assert.ok(step.traced);
      assert.ok(step.items.reduce((sum, item) => sum + item.granted, 0) <= step.size);
      if (pendingOf(step, "a") >= step.size / 2 && pendingOf(step, "b") >= step.size / 2) {
        contended += 1;
        assert.equal(grantedTo(step, "b"), step.size / 2);
        assert.equal(grantedTo(step, "a"), step.size / 2);
      }
    }
    // B's 600 tokens at half of each 128-token step: about 9 steps shared with A.
    assert.ok(contended >= 8, `contended steps: ${contended}`);
    // Per sequence (node-llama-cpp's default) all four would finish in the same step; per tenant B is
    // done while A still has half its tokens to go.
    assert.equal(run.finished[0], 3);
  });

  test("the hierarchy sets the split: three keys of one organisation share its half", async () => {
    const inOrganization = (organization: string, key: string): WorkShare => ({
      key,
      groups: [
        { key: organization, weight: 1 },
        { key: `${organization}/team`, weight: 1 },
      ],
    });
    const run = await evaluateTogether([
      { owner: inOrganization("org-a", "a1"), tokens: 600 },
      { owner: inOrganization("org-a", "a2"), tokens: 600 },
      { owner: inOrganization("org-a", "a3"), tokens: 600 },
      { owner: inOrganization("org-b", "b"), tokens: 600 },
    ]);
    assert.equal(run.batching.stats.untracedSteps, 0);
    const first = run.steps[0];
    assert.ok(first);
    assert.deepEqual(
      first.items.map((item) => [item.owner, item.share]),
      [
        ["a1", 1 / 6],
        ["a2", 1 / 6],
        ["a3", 1 / 6],
        ["b", 1 / 2],
      ],
    );
    assert.equal(grantedTo(first, "b"), first.size / 2);
    assert.equal(run.finished[0], 3);
  });

  test("weights set the split: B with weight 3 gets three quarters of each step", async () => {
    const run = await evaluateTogether([
      { owner: { key: "a", groups: [{ key: "team-a", weight: 1 }] }, tokens: 600 },
      { owner: { key: "b", groups: [{ key: "team-b", weight: 3 }] }, tokens: 600 },
    ]);
    assert.equal(run.batching.stats.untracedSteps, 0);
    const contended = run.steps.filter(
      (step) => pendingOf(step, "a") >= step.size && pendingOf(step, "b") >= step.size,
    );
    assert.ok(contended.length >= 5, `contended steps: ${contended.length}`);
    for (const step of contended) {
      assert.equal(grantedTo(step, "b"), (step.size * 3) / 4);
      assert.equal(grantedTo(step, "a"), step.size / 4);
    }
    assert.deepEqual(run.finished, [1, 0]);
  });

  test("sequences with no owner share equally, each as its own owner", async () => {
    const run = await evaluateTogether([
      { owner: undefined, tokens: 500 },
      { owner: undefined, tokens: 500 },
      { owner: { key: "a", groups: [] }, tokens: 500 },
    ]);
    assert.equal(run.batching.stats.untracedSteps, 0);
    const first = run.steps[0];
    assert.ok(first);
    assert.deepEqual(
      first.items.map((item) => item.granted).sort((x, y) => x - y),
      [42, 43, 43],
    );
  });

  test("every generating sequence is decoded in every step (not N - 1 of N), in sequence id order", async () => {
    const sequences = 3;
    const tokensEach = 24;
    const steps: FairBatchingStep[] = [];
    const batching = new FairBatching({ onStep: (step) => steps.push(step) });
    const context = await model.createContext({
      contextSize: 1024,
      sequences,
      threads: 1,
      batchSize,
      batching: { itemPrioritizationStrategy: batching.strategy },
    });
    // The sequence ids node-llama-cpp hands llama.cpp, per step (its private native context, wrapped).
    const idsPerStep: number[][] = [];
    wrapNativeContext(context, {
      initBatch: (original, ...args) => {
        idsPerStep.push([]);
        return original(...args);
      },
      addToBatch: (original, sequenceId, ...rest) => {
        idsPerStep.at(-1)?.push(sequenceId as number);
        return original(sequenceId, ...rest);
      },
    });
    try {
      batching.attach(context);
      const start = model.tokenize("Once upon a time");
      const all = Array.from({ length: sequences }, () => context.getSequence());
      // Started last id first, so that node-llama-cpp's queue holds them in descending order.
      await Promise.all(
        all.reverse().map(async (sequence) => {
          let generated = 0;
          for await (const _token of sequence.evaluate(start, { temperature: 0, yieldEogToken: true }))
            if (++generated >= tokensEach) break;
        }),
      );
    } finally {
      await context.dispose();
    }
    // llama.cpp decodes a step in one pass only when its sequence ids go up by one.
    for (const ids of idsPerStep)
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        `sequence ids of a step: ${ids.join(",")}`,
      );
    const itemsPerStep = steps.map((step) => step.items.length);
    // The prompts and the last tokens may be staggered by a step or two; every token between is
    // decoded together with the other sequences' (node-llama-cpp alone leaves one out of each step).
    assert.ok(steps.length <= tokensEach + 2, `steps: ${itemsPerStep.join(",")}`);
    const full = itemsPerStep.filter((items) => items === sequences).length;
    assert.ok(full >= tokensEach - 2, `steps: ${itemsPerStep.join(",")}`);
  });

  test("a request on a used sequence is let in between steps, not after the running requests end", async () => {
    const batching = new FairBatching();
    const context = await model.createContext({
      contextSize: 1024,
      sequences: 3,
      threads: 1,
      batchSize,
      batching: { itemPrioritizationStrategy: batching.strategy },
    });
    try {
      batching.attach(context);
      const start = model.tokenize("Once upon a time");
      const [a, b, newcomer] = [context.getSequence(), context.getSequence(), context.getSequence()];
      const generate = async (sequence: typeof a, tokens: number, onToken: () => void = () => {}) => {
        let generated = 0;
        for await (const _token of sequence.evaluate(start, { temperature: 0, yieldEogToken: true })) {
          onToken();
          if (++generated >= tokens) break;
        }
      };
      await generate(newcomer, 4); // leaves tokens behind, as a finished request does
      let runningTokens = 0;
      let newcomerStarted: () => void = () => {};
      const startNewcomer = new Promise<void>((resolve) => {
        newcomerStarted = resolve;
      });
      const running = Promise.all(
        [a, b].map((sequence) =>
          generate(sequence, 600, () => {
            if (++runningTokens === 20) newcomerStarted();
          }),
        ),
      );
      await startNewcomer;
      await batching.decodeLoop.withContextLock(() => newcomer.clearHistory());
      await generate(newcomer, 4);
      const tokensWhenNewcomerDone = runningTokens;
      await running;
      // Without being let in, clearing waits for the context lock until both running requests end.
      assert.ok(
        tokensWhenNewcomerDone < 1200,
        `running requests had ${tokensWhenNewcomerDone} of 1200 tokens`,
      );
      assert.equal(runningTokens, 1200);
    } finally {
      await context.dispose();
    }
  });

  test("without a context to trace against, steps are shared per sequence and counted as untraced", async () => {
    const run = await evaluateTogether(
      [
        { owner: { key: "a", groups: [] }, tokens: 400 },
        { owner: { key: "a", groups: [] }, tokens: 400 },
        { owner: { key: "b", groups: [] }, tokens: 400 },
      ],
      { attach: false },
    );
    assert.equal(run.batching.stats.tracedSteps, 0);
    assert.ok(run.batching.stats.untracedSteps > 0);
    assert.equal(run.warnings.length, 1);
    const first = run.steps[0];
    assert.ok(first && !first.traced);
    assert.ok(first.items.every((item) => item.owner === undefined && item.granted >= 42));
  });
});
