// Typed lookups into GGUF metadata for code that wants "the context length", not a tagged union:
// numbers of any numeric type (64-bit ones when exact), strings, per-layer values, plain JSON-able
// copies. Pure; depends only on ./gguf-types.ts.

import type { GgufMetadataValue } from "./gguf-types.ts";

export type GgufMetadata = ReadonlyMap<string, GgufMetadataValue>;

/** A metadata value without its GGUF type: what APIs and summaries show. 64-bit integers beyond 2^53 become strings. */
export type GgufPlainValue = string | number | boolean | readonly (string | number | boolean)[];

/** The numeric value at `key`, or `undefined` if missing, not a number or a 64-bit value beyond 2^53. */
export function getMetadataNumber(metadata: GgufMetadata, key: string): number | undefined {
  const entry = metadata.get(key);
  if (entry === undefined || entry.type === "array" || entry.type === "string" || entry.type === "bool") {
    return undefined;
  }
  return typeof entry.value === "bigint" ? toSafeNumber(entry.value) : entry.value;
}

export function getMetadataString(metadata: GgufMetadata, key: string): string | undefined {
  const entry = metadata.get(key);
  return entry?.type === "string" ? entry.value : undefined;
}

/**
 * A per-layer hyperparameter (llama.cpp's `get_key_or_arr`): a scalar applies to every layer, an array
 * gives one value per layer. Returns `undefined` when missing or malformed.
 */
export function getMetadataPerLayer(
  metadata: GgufMetadata,
  key: string,
  layers: number,
): number[] | undefined {
  const entry = metadata.get(key);
  if (entry?.type === "array") {
    if (entry.value.length !== layers) {
      return undefined;
    }
    const values = entry.value.map((item) => (typeof item === "bigint" ? toSafeNumber(item) : item));
    return values.every((item): item is number => typeof item === "number") ? values : undefined;
  }
  const value = getMetadataNumber(metadata, key);
  return value === undefined ? undefined : Array.from({ length: layers }, () => value);
}

export function toPlainValue(entry: GgufMetadataValue): GgufPlainValue {
  const plain = (item: string | number | boolean | bigint) =>
    typeof item === "bigint" ? (toSafeNumber(item) ?? item.toString()) : item;
  if (entry.type === "array") {
    return (entry.value as readonly (string | number | boolean | bigint)[]).map(plain);
  }
  return plain(entry.value);
}

function toSafeNumber(value: bigint): number | undefined {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : undefined;
}
