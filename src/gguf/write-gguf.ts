// Writes GGUF v3 files (little-endian) from explicitly typed metadata and tensor data, atomically:
// the file appears at `path` complete or not at all. Used to generate test models and to stamp
// metadata; it does not quantise (callers pass tensor bytes already in the tensor's ggml type).
// Depends only on node:fs and ./gguf-types.ts.

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import {
  type GgmlTypeName,
  type GgufMetadataEntry,
  type GgufMetadataValue,
  type GgufScalarTypeName,
  ggmlTypes,
  ggufDefaultAlignment,
  ggufMagic,
  ggufScalarByteSizes,
  ggufValueTypeIds,
} from "./gguf-types.ts";

/**
 * A tensor's bytes, in ggml layout for its type. A function returning chunks lets large tensors be
 * generated while they are written instead of being held in memory; the chunks must add up to
 * exactly the tensor's byte size.
 */
export type GgufTensorData = Uint8Array | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);

export interface GgufTensorInput {
  name: string;
  /** ggml order: `dimensions[0]` is the row length; 1 to 4 dimensions. */
  dimensions: readonly number[];
  type: GgmlTypeName;
  data: GgufTensorData;
}

export interface GgufModelInput {
  /** Written in this order. Keys must be unique. */
  metadata: readonly GgufMetadataEntry[];
  /** Written in this order, each at the next aligned offset. */
  tensors: readonly GgufTensorInput[];
}

export interface WriteGgufOptions {
  /**
   * Tensor data alignment, written as `general.alignment` unless the metadata already has that key
   * (then they must agree). Defaults to the metadata's value, else 32.
   */
  alignment?: number;
  signal?: AbortSignal;
}

export interface WriteGgufResult {
  fileSize: number;
}

/** Writes `model` as a GGUF v3 file at `path`, replacing any file there only once it is complete. */
export async function writeGguf(
  path: string,
  model: GgufModelInput,
  options: WriteGgufOptions = {},
): Promise<WriteGgufResult> {
  const metadata = withAlignment(model.metadata, options.alignment);
  const alignment = getAlignmentValue(metadata);
  const tensors = model.tensors.map(describeTensor);
  const names = new Set<string>();
  for (const { name } of tensors) {
    if (names.has(name)) {
      throw new RangeError(`Tensor name '${name}' appears twice`);
    }
    names.add(name);
  }
  const header = encodeHeader(metadata, tensors, alignment);

  const temporaryPath = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporaryPath, "wx");
  let fileSize = 0;
  try {
    const write = async (bytes: Uint8Array): Promise<void> => {
      let written = 0;
      while (written < bytes.length) {
        const result = await handle.write(bytes, written, bytes.length - written);
        written += result.bytesWritten;
      }
      fileSize += bytes.length;
    };
    await write(header);
    if (tensors.length > 0) {
      await write(new Uint8Array(padding(fileSize, alignment)));
    }
    for (const tensor of tensors) {
      options.signal?.throwIfAborted();
      await writeTensorData(tensor, write, options.signal);
      await write(new Uint8Array(padding(tensor.byteSize, alignment)));
    }
    await handle.sync();
    await handle.close();
    await rename(temporaryPath, path);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporaryPath, { force: true });
    throw error;
  }
  return { fileSize };
}

interface TensorPlan extends GgufTensorInput {
  byteSize: number;
}

function describeTensor(tensor: GgufTensorInput): TensorPlan {
  const { blockSize, bytesPerBlock } = ggmlTypes[tensor.type];
  const { dimensions, name } = tensor;
  if (name === "" || Buffer.byteLength(name) > 63) {
    throw new RangeError(`Tensor name '${name}' must be 1 to 63 bytes long (ggml's limit)`);
  }
  if (dimensions.length < 1 || dimensions.length > 4) {
    throw new RangeError(`Tensor '${name}' must have 1 to 4 dimensions, not ${dimensions.length}`);
  }
  if (!dimensions.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw new RangeError(`Tensor '${name}' has an invalid dimension in [${dimensions.join(", ")}]`);
  }
  const rowLength = dimensions[0] ?? 0;
  if (rowLength % blockSize !== 0) {
    throw new RangeError(
      `Tensor '${name}' of type ${tensor.type} needs rows that are a multiple of ${blockSize}, not ${rowLength}`,
    );
  }
  const elementCount = dimensions.reduce((product, size) => product * size, 1);
  const byteSize = (elementCount / blockSize) * bytesPerBlock;
  if (!Number.isSafeInteger(byteSize)) {
    throw new RangeError(`Tensor '${name}' is too large`);
  }
  if (tensor.data instanceof Uint8Array && tensor.data.length !== byteSize) {
    throw new RangeError(
      `Tensor '${name}' of type ${tensor.type} [${dimensions.join(", ")}] needs ${byteSize} bytes, got ${tensor.data.length}`,
    );
  }
  return { ...tensor, byteSize };
}

async function writeTensorData(
  tensor: TensorPlan,
  write: (bytes: Uint8Array) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (tensor.data instanceof Uint8Array) {
    await write(tensor.data);
    return;
  }
  let written = 0;
  for await (const chunk of tensor.data()) {
    signal?.throwIfAborted();
    written += chunk.length;
    if (written > tensor.byteSize) {
      break;
    }
    await write(chunk);
  }
  if (written !== tensor.byteSize) {
    const produced =
      written > tensor.byteSize ? `more than ${tensor.byteSize}` : `only ${written} of ${tensor.byteSize}`;
    throw new RangeError(`Tensor '${tensor.name}' data produced ${produced} bytes`);
  }
}

function withAlignment(
  metadata: readonly GgufMetadataEntry[],
  alignment: number | undefined,
): readonly GgufMetadataEntry[] {
  const keys = new Set<string>();
  for (const [key] of metadata) {
    if (key === "") {
      throw new RangeError("Metadata keys must not be empty");
    }
    if (keys.has(key)) {
      throw new RangeError(`Metadata key '${key}' appears twice`);
    }
    keys.add(key);
  }
  const existing = metadata.find(([key]) => key === "general.alignment")?.[1];
  if (existing === undefined) {
    return [...metadata, ["general.alignment", { type: "uint32", value: alignment ?? ggufDefaultAlignment }]];
  }
  if (alignment !== undefined && (existing.type !== "uint32" || existing.value !== alignment)) {
    throw new RangeError(`Metadata 'general.alignment' disagrees with the alignment option ${alignment}`);
  }
  return metadata;
}

function getAlignmentValue(metadata: readonly GgufMetadataEntry[]): number {
  const value = metadata.find(([key]) => key === "general.alignment")?.[1];
  if (value?.type !== "uint32" || value.value === 0 || (value.value & (value.value - 1)) !== 0) {
    throw new RangeError("'general.alignment' must be a uint32 power of two");
  }
  return value.value;
}

function padding(size: number, alignment: number): number {
  return (alignment - (size % alignment)) % alignment;
}

/** Accumulates the header in memory; it holds only metadata and the tensor table, never tensor data. */
class HeaderEncoder {
  private readonly chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  u32(value: number): void {
    const chunk = Buffer.allocUnsafe(4);
    chunk.writeUInt32LE(value);
    this.push(chunk);
  }

  u64(value: number | bigint): void {
    const chunk = Buffer.allocUnsafe(8);
    chunk.writeBigUInt64LE(BigInt(value));
    this.push(chunk);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.u64(bytes.length);
    this.push(bytes);
  }

  scalar(type: GgufScalarTypeName, value: number | bigint | boolean | string, key: string): void {
    if (type === "string") {
      if (typeof value !== "string") {
        throw new TypeError(`Metadata '${key}' must be a string`);
      }
      this.string(value);
      return;
    }
    const expected =
      type === "bool" ? "boolean" : type === "uint64" || type === "int64" ? "bigint" : "number";
    if (typeof value !== expected) {
      throw new TypeError(`Metadata '${key}' of type ${type} must be a ${expected}, got ${typeof value}`);
    }
    // Buffer's writers range-check integers (throwing RangeError), so a uint32 of -1 cannot slip through.
    if (typeof value === "number" && type !== "float32" && type !== "float64" && !Number.isInteger(value)) {
      throw new RangeError(`Metadata '${key}' of type ${type} must be an integer, got ${value}`);
    }
    const chunk = Buffer.allocUnsafe(ggufScalarByteSizes[type]);
    switch (type) {
      case "uint8":
        chunk.writeUInt8(value as number);
        break;
      case "int8":
        chunk.writeInt8(value as number);
        break;
      case "uint16":
        chunk.writeUInt16LE(value as number);
        break;
      case "int16":
        chunk.writeInt16LE(value as number);
        break;
      case "uint32":
        chunk.writeUInt32LE(value as number);
        break;
      case "int32":
        chunk.writeInt32LE(value as number);
        break;
      case "float32":
        chunk.writeFloatLE(value as number);
        break;
      case "float64":
        chunk.writeDoubleLE(value as number);
        break;
      case "uint64":
        chunk.writeBigUInt64LE(value as bigint);
        break;
      case "int64":
        chunk.writeBigInt64LE(value as bigint);
        break;
      case "bool":
        chunk.writeUInt8(value ? 1 : 0);
        break;
      default: {
        throw new TypeError(`Unknown GGUF type ${String(type satisfies never)}`);
      }
    }
    this.push(chunk);
  }

  value(key: string, entry: GgufMetadataValue): void {
    this.u32(ggufValueTypeIds[entry.type]);
    if (entry.type !== "array") {
      this.scalar(entry.type, entry.value, key);
      return;
    }
    this.u32(ggufValueTypeIds[entry.itemType]);
    this.u64(entry.value.length);
    for (const item of entry.value) {
      this.scalar(entry.itemType, item, key);
    }
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function encodeHeader(
  metadata: readonly GgufMetadataEntry[],
  tensors: readonly TensorPlan[],
  alignment: number,
): Buffer {
  const encoder = new HeaderEncoder();
  encoder.push(Buffer.from(ggufMagic, "latin1"));
  encoder.u32(3);
  encoder.u64(tensors.length);
  encoder.u64(metadata.length);
  for (const [key, value] of metadata) {
    encoder.string(key);
    encoder.value(key, value);
  }
  let offset = 0;
  for (const tensor of tensors) {
    encoder.string(tensor.name);
    encoder.u32(tensor.dimensions.length);
    for (const size of tensor.dimensions) {
      encoder.u64(size);
    }
    encoder.u32(ggmlTypes[tensor.type].id);
    encoder.u64(offset);
    offset += tensor.byteSize + padding(tensor.byteSize, alignment);
  }
  return encoder.toBuffer();
}
