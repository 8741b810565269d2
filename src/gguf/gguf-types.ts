// The vocabulary of the GGUF format: metadata value types, ggml tensor types with their storage sizes,
// llama.cpp's file-type ids, and the shapes the reader returns and the writer accepts.
// Pure data and types; it must not depend on the file system or on node-llama-cpp.
//
// Sizes come from ggml's type traits (`ggml/src/ggml.c`, block structs in `ggml-common.h`) of the
// llama.cpp release node-llama-cpp 3.22.1 bundles; a wrong size here would make the reader accept
// files whose tensors run past their end, so change them only against that source.

/** GGUF metadata value type ids, as stored in the file. */
export const ggufValueTypeIds = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufValueTypeName = keyof typeof ggufValueTypeIds;

/** Types whose values are JavaScript numbers (64-bit integers are bigints instead, to stay exact). */
export type GgufNumberTypeName =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "float64";
export type GgufBigIntTypeName = "uint64" | "int64";
export type GgufScalarTypeName = Exclude<GgufValueTypeName, "array">;

export type GgufScalarValue =
  | { type: GgufNumberTypeName; value: number }
  | { type: GgufBigIntTypeName; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string };

/**
 * Arrays hold one scalar type. GGUF allows arrays of arrays, but llama.cpp rejects them, so Ostrom
 * neither reads nor writes them.
 */
export type GgufArrayValue =
  | { type: "array"; itemType: GgufNumberTypeName; value: number[] }
  | { type: "array"; itemType: GgufBigIntTypeName; value: bigint[] }
  | { type: "array"; itemType: "bool"; value: boolean[] }
  | { type: "array"; itemType: "string"; value: string[] };

/** A metadata value together with the GGUF type it is stored as, so that writing it back is exact. */
export type GgufMetadataValue = GgufScalarValue | GgufArrayValue;

export type GgufMetadataEntry = readonly [key: string, value: GgufMetadataValue];

/** Byte size of each fixed-size value type; strings are variable (8-byte length + bytes). */
export const ggufScalarByteSizes = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
} as const satisfies Record<Exclude<GgufScalarTypeName, "string">, number>;

export interface GgmlTypeTraits {
  readonly id: number;
  /** Elements per block; a tensor's first dimension must be a multiple of it. */
  readonly blockSize: number;
  /** Bytes one block occupies in the file. */
  readonly bytesPerBlock: number;
}

/** ggml tensor types that a GGUF file may contain (ids 4, 5, 31–33 and 36–38 were removed from ggml). */
export const ggmlTypes = {
  F32: { id: 0, blockSize: 1, bytesPerBlock: 4 },
  F16: { id: 1, blockSize: 1, bytesPerBlock: 2 },
  Q4_0: { id: 2, blockSize: 32, bytesPerBlock: 18 },
  Q4_1: { id: 3, blockSize: 32, bytesPerBlock: 20 },
  Q5_0: { id: 6, blockSize: 32, bytesPerBlock: 22 },
  Q5_1: { id: 7, blockSize: 32, bytesPerBlock: 24 },
  Q8_0: { id: 8, blockSize: 32, bytesPerBlock: 34 },
  Q8_1: { id: 9, blockSize: 32, bytesPerBlock: 36 },
  Q2_K: { id: 10, blockSize: 256, bytesPerBlock: 84 },
  Q3_K: { id: 11, blockSize: 256, bytesPerBlock: 110 },
  Q4_K: { id: 12, blockSize: 256, bytesPerBlock: 144 },
  Q5_K: { id: 13, blockSize: 256, bytesPerBlock: 176 },
  Q6_K: { id: 14, blockSize: 256, bytesPerBlock: 210 },
  Q8_K: { id: 15, blockSize: 256, bytesPerBlock: 292 },
  IQ2_XXS: { id: 16, blockSize: 256, bytesPerBlock: 66 },
  IQ2_XS: { id: 17, blockSize: 256, bytesPerBlock: 74 },
  IQ3_XXS: { id: 18, blockSize: 256, bytesPerBlock: 98 },
  IQ1_S: { id: 19, blockSize: 256, bytesPerBlock: 50 },
  IQ4_NL: { id: 20, blockSize: 32, bytesPerBlock: 18 },
  IQ3_S: { id: 21, blockSize: 256, bytesPerBlock: 110 },
  IQ2_S: { id: 22, blockSize: 256, bytesPerBlock: 82 },
  IQ4_XS: { id: 23, blockSize: 256, bytesPerBlock: 136 },
  I8: { id: 24, blockSize: 1, bytesPerBlock: 1 },
  I16: { id: 25, blockSize: 1, bytesPerBlock: 2 },
  I32: { id: 26, blockSize: 1, bytesPerBlock: 4 },
  I64: { id: 27, blockSize: 1, bytesPerBlock: 8 },
  F64: { id: 28, blockSize: 1, bytesPerBlock: 8 },
  IQ1_M: { id: 29, blockSize: 256, bytesPerBlock: 56 },
  BF16: { id: 30, blockSize: 1, bytesPerBlock: 2 },
  TQ1_0: { id: 34, blockSize: 256, bytesPerBlock: 54 },
  TQ2_0: { id: 35, blockSize: 256, bytesPerBlock: 66 },
  MXFP4: { id: 39, blockSize: 32, bytesPerBlock: 17 },
  NVFP4: { id: 40, blockSize: 64, bytesPerBlock: 36 },
  Q1_0: { id: 41, blockSize: 128, bytesPerBlock: 18 },
  Q2_0: { id: 42, blockSize: 64, bytesPerBlock: 18 },
} as const satisfies Record<string, GgmlTypeTraits>;

export type GgmlTypeName = keyof typeof ggmlTypes;

const ggmlTypeNamesById: ReadonlyMap<number, GgmlTypeName> = new Map(
  (Object.keys(ggmlTypes) as GgmlTypeName[]).map((name) => [ggmlTypes[name].id, name]),
);

/** The name of a ggml tensor type id, or `undefined` for ids this build does not know. */
export function getGgmlTypeName(id: number): GgmlTypeName | undefined {
  return ggmlTypeNamesById.get(id);
}

/**
 * llama.cpp's `general.file_type` values (`enum llama_ftype`), named the way quantised files are
 * usually labelled (`Q4_K_M`, not llama.cpp's `Q4_K - Medium`).
 */
export const llamaFileTypeNames: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  4: "Q4_1_SOME_F16",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
  39: "NVFP4",
  40: "Q1_0",
  41: "Q2_0",
};

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: `dimensions[0]` is the row length (the fastest-varying index). */
  readonly dimensions: readonly number[];
  /** The ggml type id as stored. */
  readonly type: number;
  readonly typeName: GgmlTypeName;
  /** Byte offset of the tensor's data, relative to `GgufInfo.dataOffset`. */
  readonly offset: number;
  readonly byteSize: number;
  readonly elementCount: number;
}

/** Everything in a GGUF file except the tensor data itself. */
export interface GgufInfo {
  /** GGUF format version: 2 or 3 (identical layouts for little-endian files). */
  readonly version: number;
  /** In file order. */
  readonly metadata: ReadonlyMap<string, GgufMetadataValue>;
  /** In file order. */
  readonly tensors: readonly GgufTensorInfo[];
  /** Alignment of tensor data (`general.alignment`, default 32). */
  readonly alignment: number;
  /** Absolute file offset where tensor data starts. */
  readonly dataOffset: number;
  readonly fileSize: number;
}

export const ggufMagic = "GGUF";
export const ggufDefaultAlignment = 32;
