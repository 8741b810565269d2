// How many of a context's sequences node-llama-cpp puts into each decode step when they all generate at
// once (`npx tsx bench/probe-batch-occupancy.ts [--sequences 4] [--threads 1] [--model FILE.gguf]
// [--hold] [--completion] [--openmp] [--flash-attention] [--context-size 2048]`; `--hold` applies Ostrom's fix,
// src/engine/local/full-decode-steps.ts; `--openmp` loads the build of `npm run build:engine`):
// counts the items its batching hook sees per step and prints their histogram. Found with it: N busy
// sequences give N−1 items per step (2 sequences: 1, i.e. no batching at all), because the decode loop in
// `LlamaContext.dispatchPendingBatch` re-reads its queue right after a step, before the sequence whose
// result was delivered last has queued its next token. A benchmark reports; it asserts nothing.
import { parseArgs } from "node:util";
import { type BatchItem, getLlama, LlamaCompletion } from "node-llama-cpp";
import { DecodeLoopControl } from "../src/engine/local/full-decode-steps.ts";
import { wrapNativeContext } from "../test/helpers/wrap-native-context.ts";

const { values } = parseArgs({
  options: {
    sequences: { type: "string", default: "4" },
    threads: { type: "string", default: "1" },
    tokens: { type: "string", default: "128" },
    hold: { type: "boolean", default: false },
    completion: { type: "boolean", default: false },
    openmp: { type: "boolean", default: false },
    "flash-attention": { type: "boolean", default: false },
    "context-size": { type: "string", default: "2048" },
    model: {
      type: "string",
      default: `${process.env.HOME}/.cache/ostrom-bench/smollm2-135m-shape-q8_0.gguf`,
    },
  },
});
const sequences = Number(values.sequences);
const llama = await getLlama({
  gpu: false,
  build: "never",
  ...(values.openmp ? { cmakeOptions: { GGML_OPENMP: "ON" } } : {}),
});
if (values.openmp && llama.buildType !== "localBuild")
  throw new Error("no OpenMP build: npm run build:engine");
const model = await llama.loadModel({ modelPath: values.model });
const itemsPerStep: number[] = [];
const decodeLoop = new DecodeLoopControl();
const context = await model.createContext({
  contextSize: Number(values["context-size"]),
  flashAttention: values["flash-attention"],
  sequences,
  threads: { ideal: Number(values.threads), min: 1 },
  batching: {
    // Counts, then keeps node-llama-cpp's plain order: every item as far as the step has room.
    itemPrioritizationStrategy: ({ items, size }: { items: readonly BatchItem[]; size: number }) => {
      itemsPerStep.push(items.length);
      if (values.hold) {
        const queued: unknown = Reflect.get(context, "_queuedDecodes");
        const first = Array.isArray(queued) ? queued[0] : undefined;
        if (first) decodeLoop.holdAfterStep(first);
      }
      let left = size;
      return items.map((item) => {
        const processAmount = Math.min(item.tokens.length, left);
        left -= processAmount;
        return { item, processAmount };
      });
    },
  },
});
// Times the native decode of each step.
let decodeMs = 0;
wrapNativeContext(context, {
  decodeBatch: async (original) => {
    const started = performance.now();
    await original();
    decodeMs += performance.now() - started;
  },
});
const prompt = model.tokenize("Once upon a time");
const started = performance.now();
let generated = 0;
await Promise.all(
  Array.from({ length: sequences }, async () => {
    const sequence = context.getSequence();
    let count = 0;
    if (values.completion) {
      // The API Ostrom's runner drives /v1/completions with (more JavaScript per token than evaluate).
      const result = await new LlamaCompletion({ contextSequence: sequence }).generateCompletionWithMeta(
        "Once upon a time",
        { temperature: 0, maxTokens: Number(values.tokens), customStopTriggers: [] },
      );
      generated +=
        result.metadata.stopReason === "maxTokens"
          ? Number(values.tokens)
          : model.tokenize(result.response).length;
      return;
    }
    for await (const _token of sequence.evaluate(prompt, { temperature: 0 }))
      if (++count >= Number(values.tokens)) break;
    generated += count;
  }),
);
const seconds = (performance.now() - started) / 1000;
const histogram = new Map<number, number>();
for (const items of itemsPerStep) histogram.set(items, (histogram.get(items) ?? 0) + 1);
console.log(
  `${sequences} sequences, ${values.threads} thread(s): ${generated} tokens in ${seconds.toFixed(2)} s (${(generated / seconds).toFixed(1)} tok/s), ${itemsPerStep.length} steps, ${decodeMs.toFixed(0)} ms in decodeBatch`,
);
console.log("| items in the step | steps |\n|---:|---:|");
for (const [items, steps] of [...histogram].sort((a, b) => a[0] - b[0]))
  console.log(`| ${items} | ${steps} |`);
await context.dispose();
await model.dispose();
await llama.dispose();
