// Tests the GGUF summary on hand-built headers: quantisation naming, provenance collection,
// per-layer values and the embedding-model guess. Real files are covered in read-gguf.test.ts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GgmlTypeName, GgufInfo, GgufMetadataValue, GgufTensorInfo } from "./gguf-types.ts";
import { ggmlTypes } from "./gguf-types.ts";
import { summarizeGguf } from "./summarize-gguf.ts";

function tensor(name: string, dimensions: number[], typeName: GgmlTypeName): GgufTensorInfo {
  const elementCount = dimensions.reduce((a, b) => a * b, 1);
  const { id, blockSize, bytesPerBlock } = ggmlTypes[typeName];
  return {
    name,
    dimensions,
    type: id,
    typeName,
    offset: 0,
    byteSize: (elementCount / blockSize) * bytesPerBlock,
    elementCount,
  };
}

function makeInfo(entries: [string, GgufMetadataValue][], tensors: GgufTensorInfo[] = []): GgufInfo {
  return { version: 3, metadata: new Map(entries), tensors, alignment: 32, dataOffset: 0, fileSize: 12345 };
}

const str = (value: string): GgufMetadataValue => ({ type: "string", value });
const u32 = (value: number): GgufMetadataValue => ({ type: "uint32", value });

describe("summarizeGguf", () => {
  it("reads the architecture's hyperparameters", () => {
    const summary = summarizeGguf(
      makeInfo(
        [
          ["general.architecture", str("qwen2")],
          ["general.name", str("Tiny Qwen")],
          ["general.file_type", u32(15)],
          ["qwen2.context_length", { type: "uint64", value: 32768n }],
          ["qwen2.embedding_length", u32(896)],
          ["qwen2.block_count", u32(24)],
          ["qwen2.attention.head_count", { type: "array", itemType: "int32", value: [14, 16, 14] }],
          ["qwen2.attention.head_count_kv", u32(2)],
          ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: ["a", "b", "c"] }],
          ["tokenizer.chat_template", str("{{ messages }}")],
        ],
        [tensor("token_embd.weight", [256, 3], "Q4_K"), tensor("output_norm.weight", [256], "F32")],
      ),
    );
    assert.deepEqual(summary, {
      architecture: "qwen2",
      name: "Tiny Qwen",
      parameterCount: 1024,
      tensorBytes: 3 * 144 + 1024,
      tensorCount: 2,
      quantization: "Q4_K_M",
      contextLength: 32768,
      embeddingLength: 896,
      blockCount: 24,
      headCount: 16,
      headCountKv: 2,
      vocabularySize: 3,
      chatTemplate: "{{ messages }}",
      license: null,
      provenance: {},
      fileSize: 12345,
      isEmbeddingModel: false,
    });
  });

  it("falls back to the tensor type holding the most weights, ignoring 1-D tensors", () => {
    const tensors = [tensor("a", [4096], "F32"), tensor("b", [32, 8], "Q8_0"), tensor("c", [32, 2], "F16")];
    assert.equal(summarizeGguf(makeInfo([], tensors)).quantization, "Q8_0");
    assert.equal(summarizeGguf(makeInfo([["general.file_type", u32(999)]], tensors)).quantization, "Q8_0");
    assert.equal(summarizeGguf(makeInfo([["general.file_type", u32(1)]], tensors)).quantization, "F16");
    assert.equal(summarizeGguf(makeInfo([])).quantization, null);
  });

  it("collects licence and provenance keys, and only those", () => {
    const summary = summarizeGguf(
      makeInfo([
        ["general.architecture", str("llama")],
        ["general.name", str("x")],
        ["general.license", str("apache-2.0")],
        ["general.license.name", str("Apache License 2.0")],
        ["general.license.link", str("https://www.apache.org/licenses/LICENSE-2.0")],
        ["general.source.url", str("https://huggingface.co/x/y")],
        ["general.base_model.count", u32(1)],
        ["general.base_model.0.name", str("Base")],
        ["general.dataset.0.name", str("TinyStories")],
        ["general.tags", { type: "array", itemType: "string", value: ["text-generation"] }],
        ["general.languages", { type: "array", itemType: "string", value: ["en"] }],
        ["general.size_label", str("135M")],
        ["general.uuid", { type: "uint64", value: 2n ** 60n }],
      ]),
    );
    assert.equal(summary.license, "apache-2.0");
    assert.deepEqual(summary.provenance, {
      "general.license": "apache-2.0",
      "general.license.name": "Apache License 2.0",
      "general.license.link": "https://www.apache.org/licenses/LICENSE-2.0",
      "general.source.url": "https://huggingface.co/x/y",
      "general.base_model.count": 1,
      "general.base_model.0.name": "Base",
      "general.dataset.0.name": "TinyStories",
      "general.tags": ["text-generation"],
      "general.languages": ["en"],
      "general.uuid": String(2n ** 60n),
    });
  });

  it("guesses embedding models", () => {
    const guess = (entries: [string, GgufMetadataValue][]) =>
      summarizeGguf(makeInfo(entries)).isEmbeddingModel;
    assert.equal(guess([["general.architecture", str("bert")]]), true);
    assert.equal(guess([["general.architecture", str("nomic-bert")]]), true);
    assert.equal(
      guess([
        ["general.architecture", str("qwen3")],
        ["qwen3.pooling_type", u32(3)],
      ]),
      true,
    );
    assert.equal(guess([["general.architecture", str("llama")]]), false);
    assert.equal(guess([]), false);
  });
});
