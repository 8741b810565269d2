// Estimates the RAM a GGUF model needs once llama.cpp has loaded it and made a context, from its
// header alone, so the scheduler can refuse or evict before loading instead of running out of memory.
// Pure; depends only on the GGUF types and metadata helpers. The formula is calibrated against the
// buffer sizes llama.cpp (as bundled with node-llama-cpp 3.22.1, CPU) logs; see estimate-model-memory.test.ts.

import { getMetadataNumber, getMetadataPerLayer, getMetadataString } from "./gguf-metadata-values.ts";
import type { GgufInfo } from "./gguf-types.ts";

export interface EstimateModelMemoryOptions {
  /** Tokens of context per sequence (node-llama-cpp's `contextSize`). */
  contextSize: number;
  /** Parallel sequences, each with its own `contextSize` of KV cache. Defaults to 1. */
  sequences?: number;
  /** Bytes per cached key/value element: 2 for f16 (llama.cpp's default), 1 for q8_0. Defaults to 2. */
  kvCacheBytesPerElement?: number;
  /** Tokens evaluated per step (llama.cpp's n_ubatch). Defaults to min(512, contextSize × sequences). */
  batchSize?: number;
  /**
   * Whether llama.cpp uses flash attention, which avoids materialising the attention scores. Its
   * "auto" setting enables it on CPU. Defaults to true.
   */
  flashAttention?: boolean;
}

export interface ModelMemoryBreakdown {
  /** Tensor data, loaded (or memory-mapped) whole. */
  weights: number;
  kvCache: number;
  /** Scratch buffers for one evaluation step, plus the logits output buffer. */
  compute: number;
  total: number;
}

/** Bytes needed to load `info`'s model with the given context; the sum of `getModelMemoryBreakdown`. */
export function estimateModelMemory(info: GgufInfo, options: EstimateModelMemoryOptions): number {
  return getModelMemoryBreakdown(info, options).total;
}

/**
 * weights = Σ tensor byte sizes
 *
 * kvCache = Σ_layers (n_head_kv(l) · key_length + n_head_kv(l) · value_length) · cells · bytesPerElement,
 *   cells = contextSize · sequences rounded up to 256 (llama.cpp pads the cache),
 *   key_length / value_length = `<arch>.attention.key_length` / `.value_length`, else n_embd / n_head.
 *   Sliding-window layers are counted at full size, so models like Gemma are over-estimated (safe).
 *   Recurrent architectures (no head_count_kv) get 0 here; their state is small next to the weights.
 *
 * compute = 4 · u · (n_vocab + 2 · n_ff + 4 · n_embd)   logits and activations of one micro-batch u, f32
 *         + 2 · u · contextSize                         the f16 attention mask
 *         + 4 · u · n_head · contextSize               attention scores, only without flash attention
 *         + 4 · n_vocab · sequences                    the logits output buffer
 *   llama.cpp's allocator reuses memory between steps, so this over-estimates a little: 108.7 MiB
 *   against a measured 102.5 MiB for SmolLM2-135M's shape at 2048 tokens, 4.2 against 3.5 MiB for
 *   stories260K. Weights and KV cache match llama.cpp's own figures exactly.
 */
export function getModelMemoryBreakdown(
  info: GgufInfo,
  options: EstimateModelMemoryOptions,
): ModelMemoryBreakdown {
  const sequences = options.sequences ?? 1;
  const { contextSize } = options;
  if (
    !Number.isSafeInteger(contextSize) ||
    contextSize < 1 ||
    !Number.isSafeInteger(sequences) ||
    sequences < 1
  ) {
    throw new RangeError(
      `contextSize and sequences must be positive integers, got ${contextSize} and ${sequences}`,
    );
  }
  const bytesPerElement = options.kvCacheBytesPerElement ?? 2;
  const tokens = contextSize * sequences;
  const batch = options.batchSize ?? Math.min(512, tokens);
  const { metadata } = info;

  const weights = info.tensors.reduce((sum, tensor) => sum + tensor.byteSize, 0);

  const arch = getMetadataString(metadata, "general.architecture") ?? "";
  const number = (suffix: string) => getMetadataNumber(metadata, `${arch}.${suffix}`);
  const layers = number("block_count") ?? 0;
  const embedding = number("embedding_length") ?? 0;
  const headCounts = getMetadataPerLayer(metadata, `${arch}.attention.head_count`, layers) ?? [];
  const kvHeadCounts = getMetadataPerLayer(metadata, `${arch}.attention.head_count_kv`, layers) ?? headCounts;
  const firstHeadCount = headCounts[0] ?? 0;
  const defaultHeadLength = firstHeadCount > 0 ? embedding / firstHeadCount : 0;
  const keyLength = number("attention.key_length") ?? defaultHeadLength;
  const valueLength = number("attention.value_length") ?? defaultHeadLength;
  const cells = Math.ceil(tokens / 256) * 256;
  const kvElementsPerCell = kvHeadCounts.reduce((sum, heads) => sum + heads * (keyLength + valueLength), 0);
  const kvCache = kvElementsPerCell * cells * bytesPerElement;

  const tokenList = metadata.get("tokenizer.ggml.tokens");
  const vocabulary = number("vocab_size") ?? (tokenList?.type === "array" ? tokenList.value.length : 0);
  const feedForward = Math.max(
    0,
    ...(getMetadataPerLayer(metadata, `${arch}.feed_forward_length`, layers) ?? []),
  );
  const maxHeads = Math.max(0, ...headCounts);
  const compute =
    4 * batch * (vocabulary + 2 * feedForward + 4 * embedding) +
    2 * batch * contextSize +
    (options.flashAttention === false ? 4 * batch * maxHeads * contextSize : 0) +
    4 * vocabulary * sequences;

  return { weights, kvCache, compute, total: weights + kvCache + compute };
}
