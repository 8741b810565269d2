// Tests the memory estimate against buffer sizes llama.cpp itself reported (node-llama-cpp 3.22.1,
// CPU, flash attention auto) for the same models and contexts, and its arithmetic on edge cases.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { estimateModelMemory, getModelMemoryBreakdown } from "./estimate-model-memory.ts";
import type { GgufInfo, GgufMetadataValue, GgufTensorInfo } from "./gguf-types.ts";

const MiB = 2 ** 20;

function makeInfo(entries: Record<string, GgufMetadataValue>, tensorBytes: number): GgufInfo {
  const tensor: GgufTensorInfo = {
    name: "weights",
    dimensions: [tensorBytes],
    type: 24,
    typeName: "I8",
    offset: 0,
    byteSize: tensorBytes,
    elementCount: tensorBytes,
  };
  return {
    version: 3,
    metadata: new Map(Object.entries(entries)),
    tensors: [tensor],
    alignment: 32,
    dataOffset: 1024,
    fileSize: 1024 + tensorBytes,
  };
}

const u32 = (value: number): GgufMetadataValue => ({ type: "uint32", value });

/** The header facts of a random model with SmolLM2-135M's shape, Q8_0 (see create-random-llama.ts). */
const smolLM2 = makeInfo(
  {
    "general.architecture": { type: "string", value: "llama" },
    "llama.block_count": u32(30),
    "llama.embedding_length": u32(576),
    "llama.feed_forward_length": u32(1536),
    "llama.attention.head_count": u32(9),
    "llama.attention.head_count_kv": u32(3),
    "llama.vocab_size": u32(49152),
  },
  143_025_408,
);

describe("estimateModelMemory", () => {
  it("matches llama.cpp's weights and KV cache and stays a little above its compute buffer", () => {
    // [contextSize, sequences, measured KV MiB, measured compute MiB]
    const measured = [
      [2048, 1, 45, 102.51],
      [8192, 2, 360, 98.25],
      [256, 1, 5.625, 49.13],
    ] as const;
    for (const [contextSize, sequences, kvMiB, computeMiB] of measured) {
      const estimate = getModelMemoryBreakdown(smolLM2, { contextSize, sequences });
      assert.equal(estimate.weights, 143_025_408);
      assert.equal(estimate.kvCache, kvMiB * MiB);
      assert.ok(
        estimate.compute >= computeMiB * MiB && estimate.compute <= computeMiB * MiB * 1.2,
        `compute ${estimate.compute / MiB} MiB vs measured ${computeMiB} MiB at ${contextSize}×${sequences}`,
      );
      assert.equal(estimate.total, estimate.weights + estimate.kvCache + estimate.compute);
      assert.equal(estimateModelMemory(smolLM2, { contextSize, sequences }), estimate.total);
    }
  });

  it("follows the KV cache formula", () => {
    const base = getModelMemoryBreakdown(smolLM2, { contextSize: 1024 });
    // 30 layers × 3 KV heads × (64 + 64) × 1024 cells × 2 bytes
    assert.equal(base.kvCache, 30 * 3 * 128 * 1024 * 2);
    assert.equal(
      getModelMemoryBreakdown(smolLM2, { contextSize: 1024, kvCacheBytesPerElement: 1 }).kvCache,
      base.kvCache / 2,
    );
    assert.equal(
      getModelMemoryBreakdown(smolLM2, { contextSize: 1024, sequences: 3 }).kvCache,
      base.kvCache * 3,
    );
    // llama.cpp pads the cache to a multiple of 256 cells.
    assert.equal(getModelMemoryBreakdown(smolLM2, { contextSize: 100 }).kvCache, 30 * 3 * 128 * 256 * 2);
  });

  it("uses per-layer head counts and explicit key/value lengths", () => {
    const info = makeInfo(
      {
        "general.architecture": { type: "string", value: "gemma3" },
        "gemma3.block_count": u32(3),
        "gemma3.embedding_length": u32(256),
        "gemma3.attention.head_count": u32(4),
        "gemma3.attention.head_count_kv": { type: "array", itemType: "int32", value: [2, 0, 1] },
        "gemma3.attention.key_length": u32(128),
        "gemma3.attention.value_length": u32(96),
      },
      1000,
    );
    assert.equal(
      getModelMemoryBreakdown(info, { contextSize: 512 }).kvCache,
      (2 + 0 + 1) * (128 + 96) * 512 * 2,
    );
  });

  it("counts attention scores only without flash attention", () => {
    const flash = getModelMemoryBreakdown(smolLM2, { contextSize: 2048 });
    const noFlash = getModelMemoryBreakdown(smolLM2, { contextSize: 2048, flashAttention: false });
    assert.equal(noFlash.compute - flash.compute, 4 * 512 * 9 * 2048);
  });

  it("degrades to weights only for metadata it cannot interpret, and rejects bad sizes", () => {
    const unknown = makeInfo({}, 5000);
    const estimate = getModelMemoryBreakdown(unknown, { contextSize: 512 });
    assert.equal(estimate.weights, 5000);
    assert.equal(estimate.kvCache, 0);
    assert.ok(Number.isFinite(estimate.total));
    assert.throws(() => estimateModelMemory(smolLM2, { contextSize: 0 }), RangeError);
    assert.throws(() => estimateModelMemory(smolLM2, { contextSize: 512, sequences: 1.5 }), RangeError);
  });
});
