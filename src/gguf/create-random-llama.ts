// Generates random-weight GGUF models of llama.cpp's `llama` architecture that node-llama-cpp loads
// and runs (completion, chat through the model's own ChatML template, embeddings). They stand in for
// real models in tests and benchmarks: same shapes and file sizes, meaningless output. Weights are
// streamed to disk tensor by tensor, so even the 145 MB SmolLM2 shape needs little memory.
// Depends on ./write-gguf.ts and the pure helpers beside it; not on node-llama-cpp.

import { createSentencePieceVocabulary } from "./create-sentencepiece-vocabulary.ts";
import { type EncodableTensorType, encodeTensorData } from "./encode-tensor-data.ts";
import type { GgufMetadataEntry } from "./gguf-types.ts";
import { type GgufTensorInput, writeGguf } from "./write-gguf.ts";

/** The architecture-defining numbers of a model. */
export interface RandomLlamaShape {
  /** Transformer blocks (`llama.block_count`). */
  blockCount: number;
  /** Hidden width (`llama.embedding_length`); a multiple of 32 for Q8_0. */
  embeddingLength: number;
  /** Attention heads; must divide `embeddingLength`. */
  headCount: number;
  /** Key/value heads (grouped-query attention); must divide `headCount`. */
  headCountKv: number;
  /** Inner width of the SwiGLU feed-forward layer; a multiple of 32 for Q8_0. */
  feedForwardLength: number;
  /** Tokens in the vocabulary, 300 to 400,000. */
  vocabSize: number;
  /** Training context length written to the file (`llama.context_length`). */
  contextLength: number;
  /** Storage type of the 2-D weight matrices; norm weights are always F32. */
  tensorType: EncodableTensorType;
}

export interface RandomLlamaOptions extends Partial<RandomLlamaShape> {
  /** PRNG seed; the same options always give the same bytes. Defaults to 1. */
  seed?: number;
  /** `general.name`. Defaults to "Ostrom random llama". */
  name?: string;
  /** Weights are uniform in ±weightScale. Defaults to 0.02, small enough that activations stay finite. */
  weightScale?: number;
  /** RMS norm epsilon. Defaults to 1e-5. */
  rmsNormEpsilon?: number;
  /** RoPE base frequency. Defaults to 10000. */
  ropeFreqBase?: number;
  /**
   * Entries added after the generated metadata; an entry with a generated key replaces it (e.g.
   * `["general.license", {type: "string", value: "MIT"}]`). Defaults to none.
   */
  extraMetadata?: readonly GgufMetadataEntry[];
  signal?: AbortSignal;
}

export interface RandomLlamaResult {
  fileSize: number;
  /** Elements in all tensors (the output matrix is tied to the token embeddings, as in SmolLM2). */
  parameterCount: number;
}

/** Very small: about 0.5 MB, generated in milliseconds, thousands of tokens per second. */
export const tinyLlamaShape: RandomLlamaShape = {
  blockCount: 2,
  embeddingLength: 64,
  headCount: 4,
  headCountKv: 2,
  feedForwardLength: 128,
  vocabSize: 600,
  contextLength: 2048,
  tensorType: "F32",
};

/** HuggingFaceTB/SmolLM2-135M's shape in Q8_0: about 145 MB, speed comparable to the real model. */
export const smolLM2_135MShape: RandomLlamaShape = {
  blockCount: 30,
  embeddingLength: 576,
  headCount: 9,
  headCountKv: 3,
  feedForwardLength: 1536,
  vocabSize: 49152,
  contextLength: 8192,
  tensorType: "Q8_0",
};

/** A ChatML template, the format SmolLM2-Instruct and many small models use. */
const chatMlTemplate =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const fileTypes = { F32: 0, F16: 1, Q8_0: 7 } as const satisfies Record<EncodableTensorType, number>;

/** Values generated and encoded per chunk: 1 MiB of float32, a multiple of every block size. */
const chunkElements = 1 << 18;

/** Writes a random-weight `llama` GGUF to `path` (atomically); `options` default to `tinyLlamaShape`. */
export async function createRandomLlamaGguf(
  path: string,
  options: RandomLlamaOptions = {},
): Promise<RandomLlamaResult> {
  const shape: RandomLlamaShape = { ...tinyLlamaShape, ...definedShape(options) };
  checkShape(shape);
  const seed = options.seed ?? 1;
  const scale = options.weightScale ?? 0.02;
  const vocabulary = createSentencePieceVocabulary(shape.vocabSize);
  const headLength = shape.embeddingLength / shape.headCount;
  const kvLength = headLength * shape.headCountKv;
  const { embeddingLength: n, feedForwardLength: ff, tensorType } = shape;

  const u32 = (value: number) => ({ type: "uint32", value }) as const;
  const f32 = (value: number) => ({ type: "float32", value }) as const;
  const metadata: GgufMetadataEntry[] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: options.name ?? "Ostrom random llama" }],
    ["general.file_type", u32(fileTypes[tensorType])],
    ["general.quantization_version", u32(2)],
    ["llama.context_length", u32(shape.contextLength)],
    ["llama.embedding_length", u32(n)],
    ["llama.block_count", u32(shape.blockCount)],
    ["llama.feed_forward_length", u32(ff)],
    ["llama.attention.head_count", u32(shape.headCount)],
    ["llama.attention.head_count_kv", u32(shape.headCountKv)],
    ["llama.rope.dimension_count", u32(headLength)],
    ["llama.rope.freq_base", f32(options.ropeFreqBase ?? 10000)],
    ["llama.attention.layer_norm_rms_epsilon", f32(options.rmsNormEpsilon ?? 1e-5)],
    ["llama.vocab_size", u32(shape.vocabSize)],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: vocabulary.tokens }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "float32", value: vocabulary.scores }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: vocabulary.tokenTypes }],
    ["tokenizer.ggml.bos_token_id", u32(vocabulary.bosId)],
    ["tokenizer.ggml.eos_token_id", u32(vocabulary.eosId)],
    ["tokenizer.ggml.unknown_token_id", u32(vocabulary.unknownId)],
    ["tokenizer.ggml.eot_token_id", u32(vocabulary.chatEndId)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: chatMlTemplate }],
  ];
  const extra = options.extraMetadata ?? [];
  const replaced = new Set(extra.map(([key]) => key));

  const tensors: GgufTensorInput[] = [];
  const matrix = (name: string, columns: number, rows: number) => {
    tensors.push({
      name,
      dimensions: [columns, rows],
      type: tensorType,
      data: () => generateUniform(columns * rows, scale, hashSeed(seed, name), tensorType),
    });
  };
  const norm = (name: string) => {
    tensors.push({
      name,
      dimensions: [n],
      type: "F32",
      data: encodeTensorData(new Float32Array(n).fill(1), "F32"),
    });
  };
  matrix("token_embd.weight", n, shape.vocabSize);
  norm("output_norm.weight");
  for (let block = 0; block < shape.blockCount; block++) {
    const prefix = `blk.${block}`;
    norm(`${prefix}.attn_norm.weight`);
    matrix(`${prefix}.attn_q.weight`, n, n);
    matrix(`${prefix}.attn_k.weight`, n, kvLength);
    matrix(`${prefix}.attn_v.weight`, n, kvLength);
    matrix(`${prefix}.attn_output.weight`, n, n);
    norm(`${prefix}.ffn_norm.weight`);
    matrix(`${prefix}.ffn_gate.weight`, n, ff);
    matrix(`${prefix}.ffn_up.weight`, n, ff);
    matrix(`${prefix}.ffn_down.weight`, ff, n);
  }

  const { fileSize } = await writeGguf(
    path,
    { metadata: [...metadata.filter(([key]) => !replaced.has(key)), ...extra], tensors },
    options.signal === undefined ? {} : { signal: options.signal },
  );
  const parameterCount = tensors.reduce(
    (sum, tensor) => sum + tensor.dimensions.reduce((a, b) => a * b, 1),
    0,
  );
  return { fileSize, parameterCount };
}

function definedShape(options: RandomLlamaOptions): Partial<RandomLlamaShape> {
  const shape: Partial<Record<keyof RandomLlamaShape, unknown>> = {};
  for (const key of Object.keys(tinyLlamaShape) as (keyof RandomLlamaShape)[]) {
    if (options[key] !== undefined) {
      shape[key] = options[key];
    }
  }
  return shape as Partial<RandomLlamaShape>;
}

function checkShape(shape: RandomLlamaShape): void {
  const { tensorType: _type, ...numbers } = shape;
  for (const [key, value] of Object.entries(numbers)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`${key} must be a positive integer, not ${value}`);
    }
  }
  if (shape.embeddingLength % shape.headCount !== 0) {
    throw new RangeError(`headCount ${shape.headCount} must divide embeddingLength ${shape.embeddingLength}`);
  }
  if (shape.headCount % shape.headCountKv !== 0) {
    throw new RangeError(`headCountKv ${shape.headCountKv} must divide headCount ${shape.headCount}`);
  }
  if ((shape.embeddingLength / shape.headCount) % 2 !== 0) {
    throw new RangeError("The head length (embeddingLength / headCount) must be even for RoPE");
  }
  if (
    shape.tensorType === "Q8_0" &&
    (shape.embeddingLength % 32 !== 0 || shape.feedForwardLength % 32 !== 0)
  ) {
    throw new RangeError("Q8_0 needs embeddingLength and feedForwardLength to be multiples of 32");
  }
}

/** Streams `count` uniform values in ±scale, encoded as `type`, one chunk at a time. */
function* generateUniform(
  count: number,
  scale: number,
  seed: number,
  type: EncodableTensorType,
): Generator<Uint8Array> {
  // mulberry32: tiny, fast and good enough for weights that only need to be small and varied.
  let state = seed >>> 0;
  const buffer = new Float32Array(Math.min(count, chunkElements));
  const factor = (2 * scale) / 4294967296;
  for (let done = 0; done < count; ) {
    const length = Math.min(count - done, buffer.length);
    const values = length === buffer.length ? buffer : buffer.subarray(0, length);
    for (let i = 0; i < length; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      values[i] = ((t ^ (t >>> 14)) >>> 0) * factor - scale;
    }
    yield encodeTensorData(values, type);
    done += length;
  }
}

/** FNV-1a of the tensor name mixed with the seed, so each tensor's values are independent of order. */
function hashSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}
