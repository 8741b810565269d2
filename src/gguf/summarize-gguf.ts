// Turns a parsed GGUF header into the facts people and the scheduler ask about: architecture, size,
// quantisation, context length, chat template, licence and provenance. Pure; depends only on the
// types and metadata helpers beside it.

import {
  type GgufMetadata,
  type GgufPlainValue,
  getMetadataNumber,
  getMetadataString,
  toPlainValue,
} from "./gguf-metadata-values.ts";
import { type GgmlTypeName, type GgufInfo, llamaFileTypeNames } from "./gguf-types.ts";

export interface GgufSummary {
  /** `general.architecture`, e.g. "llama". */
  architecture: string | null;
  /** `general.name`. */
  name: string | null;
  /** Elements in all tensors. */
  parameterCount: number;
  /** Bytes of tensor data (what the weights occupy in memory). */
  tensorBytes: number;
  tensorCount: number;
  /** From `general.file_type` (e.g. "Q4_K_M"), else the tensor type holding the most weights. */
  quantization: string | null;
  /** `<arch>.context_length`: the context the model was trained for. */
  contextLength: number | null;
  embeddingLength: number | null;
  blockCount: number | null;
  /** Attention heads (the largest per-layer value when it varies by layer). */
  headCount: number | null;
  headCountKv: number | null;
  /** `<arch>.vocab_size`, else the length of `tokenizer.ggml.tokens`. */
  vocabularySize: number | null;
  /** `tokenizer.chat_template` (a Jinja template), if the file has one. */
  chatTemplate: string | null;
  /** `general.license`, if present. */
  license: string | null;
  /**
   * Licence and provenance metadata, keyed by GGUF key: every `general.license*`, `general.source.*`,
   * `general.base_model.*` and `general.dataset.*` key, plus tags, languages, author, organization,
   * url, repo_url, doi, uuid and quantized_by when present.
   */
  provenance: Record<string, GgufPlainValue>;
  fileSize: number;
  /** A guess: an encoder architecture (BERT family etc.) or a pooling type in the metadata. */
  isEmbeddingModel: boolean;
}

const embeddingArchitectures = new Set([
  "bert",
  "nomic-bert",
  "nomic-bert-moe",
  "jina-bert-v2",
  "jina-bert-v3",
  "neo-bert",
  "modern-bert",
  "eurobert",
  "t5encoder",
  "llama-embed",
  "gemma-embedding",
]);

const provenancePrefixes = ["general.license", "general.source.", "general.base_model.", "general.dataset."];
const provenanceKeys = new Set(
  ["tags", "languages", "author", "organization", "url", "repo_url", "doi", "uuid", "quantized_by"].map(
    (key) => `general.${key}`,
  ),
);

export function summarizeGguf(info: GgufInfo): GgufSummary {
  const { metadata } = info;
  const architecture = getMetadataString(metadata, "general.architecture") ?? null;
  const archNumber = (suffix: string) =>
    architecture === null ? null : (getMetadataNumber(metadata, `${architecture}.${suffix}`) ?? null);
  const blockCount = archNumber("block_count");

  const provenance: Record<string, GgufPlainValue> = {};
  for (const [key, value] of metadata) {
    if (provenanceKeys.has(key) || provenancePrefixes.some((prefix) => key.startsWith(prefix))) {
      provenance[key] = toPlainValue(value);
    }
  }
  const tokens = metadata.get("tokenizer.ggml.tokens");

  return {
    architecture,
    name: getMetadataString(metadata, "general.name") ?? null,
    parameterCount: info.tensors.reduce((sum, tensor) => sum + tensor.elementCount, 0),
    tensorBytes: info.tensors.reduce((sum, tensor) => sum + tensor.byteSize, 0),
    tensorCount: info.tensors.length,
    quantization: getQuantization(info),
    contextLength: archNumber("context_length"),
    embeddingLength: archNumber("embedding_length"),
    blockCount,
    headCount: getLargest(metadata, `${architecture}.attention.head_count`),
    headCountKv: getLargest(metadata, `${architecture}.attention.head_count_kv`),
    vocabularySize: archNumber("vocab_size") ?? (tokens?.type === "array" ? tokens.value.length : null),
    chatTemplate: getMetadataString(metadata, "tokenizer.chat_template") ?? null,
    license: getMetadataString(metadata, "general.license") ?? null,
    provenance,
    fileSize: info.fileSize,
    isEmbeddingModel:
      (architecture !== null && embeddingArchitectures.has(architecture)) ||
      (architecture !== null && metadata.has(`${architecture}.pooling_type`)),
  };
}

function getLargest(metadata: GgufMetadata, key: string): number | null {
  const entry = metadata.get(key);
  if (entry?.type === "array") {
    const numbers = (entry.value as readonly unknown[]).filter(
      (item): item is number => typeof item === "number",
    );
    return numbers.length > 0 ? Math.max(...numbers) : null;
  }
  return getMetadataNumber(metadata, key) ?? null;
}

function getQuantization(info: GgufInfo): string | null {
  const fileType = getMetadataNumber(info.metadata, "general.file_type");
  const named = fileType === undefined ? undefined : llamaFileTypeNames[fileType];
  if (named !== undefined) {
    return named;
  }
  // Matrices decide; 1-D norm and bias vectors stay F32 in every quantisation.
  const matrices = info.tensors.filter((tensor) => tensor.dimensions.length >= 2);
  const candidates = matrices.length > 0 ? matrices : info.tensors;
  const elementsByType = new Map<GgmlTypeName, number>();
  for (const tensor of candidates) {
    elementsByType.set(tensor.typeName, (elementsByType.get(tensor.typeName) ?? 0) + tensor.elementCount);
  }
  let dominant: GgmlTypeName | null = null;
  for (const [type, elements] of elementsByType) {
    if (dominant === null || elements > (elementsByType.get(dominant) ?? 0)) {
      dominant = type;
    }
  }
  return dominant;
}
