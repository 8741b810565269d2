// Tests that generated random-weight llama models are valid GGUF, deterministic, and really run in
// node-llama-cpp: completion, chat through the file's own ChatML template, and embeddings.
// Contexts use 1 thread: on this 2-core machine more threads spin-wait against other processes and
// generation can fall from ~1,500 to ~6 tokens/s.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  getLlama,
  type Llama,
  LlamaChatSession,
  LlamaCompletion,
  LlamaLogLevel,
  type LlamaModel,
} from "node-llama-cpp";
import { createRandomLlamaGguf, smolLM2_135MShape, tinyLlamaShape } from "./create-random-llama.ts";
import { readGgufInfo } from "./read-gguf.ts";
import { summarizeGguf } from "./summarize-gguf.ts";

const threads = 1;

let dir = "";
let llama: Llama;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ostrom-random-llama-"));
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});
after(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

describe("createRandomLlamaGguf", () => {
  it("writes a valid, deterministic GGUF with the requested shape and metadata", async () => {
    const a = join(dir, "a.gguf");
    const b = join(dir, "b.gguf");
    const c = join(dir, "c.gguf");
    const result = await createRandomLlamaGguf(a, {
      seed: 7,
      extraMetadata: [
        ["general.license", { type: "string", value: "MIT" }],
        ["general.name", { type: "string", value: "stamped" }],
      ],
    });
    await createRandomLlamaGguf(b, {
      seed: 7,
      extraMetadata: [
        ["general.license", { type: "string", value: "MIT" }],
        ["general.name", { type: "string", value: "stamped" }],
      ],
    });
    await createRandomLlamaGguf(c, { seed: 8 });
    assert.equal(await sha256(a), await sha256(b));
    assert.notEqual(await sha256(a), await sha256(c));

    const info = await readGgufInfo(a);
    const summary = summarizeGguf(info);
    assert.equal(summary.fileSize, result.fileSize);
    assert.ok(result.fileSize < 2_000_000, `tiny model is ${result.fileSize} bytes`);
    assert.equal(summary.architecture, "llama");
    assert.equal(summary.name, "stamped");
    assert.equal(summary.license, "MIT");
    assert.deepEqual(summary.provenance, { "general.license": "MIT" });
    assert.equal(summary.parameterCount, result.parameterCount);
    assert.equal(summary.blockCount, tinyLlamaShape.blockCount);
    assert.equal(summary.embeddingLength, tinyLlamaShape.embeddingLength);
    assert.equal(summary.headCount, tinyLlamaShape.headCount);
    assert.equal(summary.headCountKv, tinyLlamaShape.headCountKv);
    assert.equal(summary.vocabularySize, tinyLlamaShape.vocabSize);
    assert.equal(summary.contextLength, tinyLlamaShape.contextLength);
    assert.equal(summary.quantization, "F32");
    assert.match(summary.chatTemplate ?? "", /<\|im_start\|>/);
    const tokens = info.metadata.get("tokenizer.ggml.tokens");
    assert.ok(tokens?.type === "array" && tokens.itemType === "string");
    assert.equal(new Set(tokens.value).size, tinyLlamaShape.vocabSize, "tokens are unique");
    assert.deepEqual(tokens.value.slice(0, 4), ["<unk>", "<s>", "</s>", "<0x00>"]);
    assert.equal(tokens.value[258], "<0xFF>");
  });

  it("refuses shapes llama.cpp cannot run", async () => {
    await assert.rejects(
      createRandomLlamaGguf(join(dir, "x.gguf"), { headCount: 3 }),
      /must divide embeddingLength/,
    );
    await assert.rejects(
      createRandomLlamaGguf(join(dir, "x.gguf"), { tensorType: "Q8_0", feedForwardLength: 100 }),
      /multiples of 32/,
    );
    await assert.rejects(createRandomLlamaGguf(join(dir, "x.gguf"), { vocabSize: 100 }), /Vocabulary size/);
  });
});

describe("generated models in node-llama-cpp", { timeout: 60_000 }, () => {
  let path = "";
  let model: LlamaModel;
  before(async () => {
    path = join(dir, "tiny.gguf");
    await createRandomLlamaGguf(path, tinyLlamaShape);
    model = await llama.loadModel({ modelPath: path });
  });
  after(async () => {
    await model?.dispose();
  });

  it("tokenizes with the SentencePiece vocabulary and ChatML control tokens", () => {
    const { vocabSize } = tinyLlamaShape;
    assert.equal(model.tokens.bos, 1);
    assert.equal(model.tokens.eos, 2);
    assert.deepEqual(model.tokenize("<|im_start|>", true), [vocabSize - 2]);
    assert.deepEqual(model.tokenize("<|im_end|>", true), [vocabSize - 1]);
    // Text outside the vocabulary falls back to byte tokens and round-trips.
    const text = "Once upon a time, ж!";
    assert.equal(model.detokenize(model.tokenize(text)), text);
  });

  it("completes text", async () => {
    const context = await model.createContext({ contextSize: 256, threads });
    try {
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      let generated = 0;
      const text = await completion.generateCompletion("Once upon a time", {
        maxTokens: 8,
        onToken: (tokens) => {
          generated += tokens.length;
        },
      });
      // Greedy decoding of seed 1's weights does not pick end-of-sequence within 8 tokens.
      assert.equal(generated, 8);
      assert.ok(text.length > 0);
    } finally {
      await context.dispose();
    }
  });

  it("chats through the model's own ChatML template", async () => {
    const context = await model.createContext({ contextSize: 512, threads });
    try {
      const sequence = context.getSequence();
      const session = new LlamaChatSession({ contextSequence: sequence });
      assert.equal(session.chatWrapper.wrapperName, "ChatML");
      const answer = await session.prompt("Hello, who are you?", { maxTokens: 6 });
      assert.equal(typeof answer, "string");
      const evaluated = sequence.contextTokens;
      const { vocabSize } = tinyLlamaShape;
      // <|im_start|> opens system, user and assistant turns; <|im_end|> closes the first two.
      assert.equal(evaluated.filter((token) => token === vocabSize - 2).length, 3);
      assert.ok(evaluated.filter((token) => token === vocabSize - 1).length >= 2);
      assert.match(
        model.detokenize(evaluated, true),
        /<\|im_start\|>\s*user\nHello, who are you\?<\|im_end\|>/,
      );
    } finally {
      await context.dispose();
    }
  });

  it("computes embeddings", async () => {
    const context = await model.createEmbeddingContext({ contextSize: 256, threads });
    try {
      const first = await context.getEmbeddingFor("hello world");
      const again = await context.getEmbeddingFor("hello world");
      const other = await context.getEmbeddingFor("a different sentence");
      assert.equal(first.vector.length, tinyLlamaShape.embeddingLength);
      assert.ok(first.vector.every(Number.isFinite));
      assert.ok(first.vector.some((value) => value !== 0));
      assert.deepEqual(again.vector, first.vector);
      assert.notDeepEqual(other.vector, first.vector);
    } finally {
      await context.dispose();
    }
  });

  it("F16 and Q8_0 encodings compute what F32 computes, within rounding", async () => {
    const reference = await embedFresh({ tensorType: "F32", seed: 3 });
    for (const tensorType of ["F16", "Q8_0"] as const) {
      const similarity = cosine(reference, await embedFresh({ tensorType, seed: 3 }));
      assert.ok(similarity > 0.99, `${tensorType} cosine similarity to F32 is ${similarity}`);
    }
    // And a different seed really is a different model.
    const unrelated = cosine(reference, await embedFresh({ tensorType: "F32", seed: 4 }));
    assert.ok(unrelated < 0.9, `another seed's cosine similarity is ${unrelated}`);
  });
});

/** Generates a tiny model of `tensorType` and returns its embedding of a fixed sentence. */
async function embedFresh({ tensorType, seed }: { tensorType: "F32" | "F16" | "Q8_0"; seed: number }) {
  const file = join(dir, `tiny-${tensorType}-${seed}.gguf`);
  await createRandomLlamaGguf(file, { ...tinyLlamaShape, tensorType, seed });
  assert.equal(summarizeGguf(await readGgufInfo(file)).quantization, tensorType);
  const model = await llama.loadModel({ modelPath: file });
  try {
    const context = await model.createEmbeddingContext({ contextSize: 128, threads });
    try {
      return (await context.getEmbeddingFor("the quick brown fox")).vector;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe("SmolLM2-135M shape", { timeout: 60_000 }, () => {
  it("generates a ~145 MB Q8_0 model in seconds that loads and generates", async () => {
    const path = join(dir, "smollm2-135m.gguf");
    const started = performance.now();
    const result = await createRandomLlamaGguf(path, smolLM2_135MShape);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 10, `generation took ${seconds.toFixed(1)} s`);
    assert.equal(result.parameterCount, 134_515_008);
    assert.ok(result.fileSize > 140e6 && result.fileSize < 150e6, `file is ${result.fileSize} bytes`);
    const summary = summarizeGguf(await readGgufInfo(path));
    assert.equal(summary.quantization, "Q8_0");
    assert.equal(summary.vocabularySize, 49_152);

    const model = await llama.loadModel({ modelPath: path });
    try {
      const context = await model.createContext({ contextSize: 256, threads });
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      let generated = 0;
      await completion.generateCompletion("Once upon a time", {
        maxTokens: 4,
        onToken: (tokens) => {
          generated += tokens.length;
        },
      });
      assert.equal(generated, 4);
      await context.dispose();
    } finally {
      await model.dispose();
      await rm(path, { force: true });
    }
  });
});

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! ** 2;
    normB += b[i]! ** 2;
  }
  return dot / Math.sqrt(normA * normB);
}
