// Reads and validates the header of a GGUF file: metadata and tensor table, never tensor data.
// This is the gate a file passes before llama.cpp sees it, so it treats every byte as hostile: each
// count, length and offset is checked against the file size and a limit before anything is allocated
// or read, and every problem becomes `OstromError("invalid_model_file")` naming the file and the fault.
// Depends only on node:fs and the project's error catalog.

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import { OstromError } from "../errors.ts";
import {
  type GgmlTypeName,
  type GgufArrayValue,
  type GgufInfo,
  type GgufMetadataValue,
  type GgufScalarTypeName,
  type GgufTensorInfo,
  getGgmlTypeName,
  ggmlTypes,
  ggufDefaultAlignment,
  ggufScalarByteSizes,
} from "./gguf-types.ts";

export interface ReadGgufOptions {
  /** Name used in error messages. Defaults to the file's base name. */
  displayName?: string;
  /** Longest single string (key, value or tensor name), in bytes. Defaults to 16 MiB. */
  maxStringBytes?: number;
  /** Largest header (everything before tensor data), in bytes. Defaults to 256 MiB. */
  maxHeaderBytes?: number;
  /** Most metadata entries. Defaults to 1,000,000. */
  maxMetadataCount?: number;
  /** Most tensors. Defaults to 1,000,000. */
  maxTensorCount?: number;
  /**
   * Most items in all metadata arrays together, which bounds the memory the parsed header takes.
   * Defaults to 16,777,216 (2^24); Gemma 3's 262k-token vocabulary needs under 800k.
   */
  maxArrayItems?: number;
  signal?: AbortSignal;
}

const defaultLimits = {
  maxStringBytes: 16 * 1024 * 1024,
  maxHeaderBytes: 256 * 1024 * 1024,
  maxMetadataCount: 1_000_000,
  maxTensorCount: 1_000_000,
  maxArrayItems: 2 ** 24,
};

/** ggml's GGML_MAX_DIMS. */
const maxDimensions = 4;
/** ggml's GGML_MAX_NAME is 64 including the terminating NUL. */
const maxTensorNameBytes = 63;
const chunkBytes = 1024 * 1024;
/** Smallest possible encodings, used to reject counts the rest of the file could not hold. */
const minMetadataEntryBytes = 8 + 1 + 4 + 1;
const minTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;

const magicBytes = [0x47, 0x47, 0x55, 0x46];

/** True when `bytes` starts with the GGUF magic. */
export function isGgufMagic(bytes: Uint8Array): boolean {
  return magicBytes.every((byte, index) => bytes[index] === byte);
}

/**
 * Reads the metadata and tensor table of the GGUF file at `path` and validates their consistency.
 * Malformed files throw `OstromError("invalid_model_file")`; file-system errors (ENOENT, EACCES…)
 * are passed through unchanged.
 */
export async function readGgufInfo(path: string, options: ReadGgufOptions = {}): Promise<GgufInfo> {
  const name = options.displayName ?? basename(path);
  // O_NONBLOCK so that opening a FIFO cannot block forever; it changes nothing for regular files.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new OstromError("invalid_model_file", `${name} is not a regular file`);
    }
    const reader = new HeaderReader(
      (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      stats.size,
      name,
      { ...defaultLimits, ...definedOnly(options) },
      options.signal,
    );
    return await parseGguf(reader);
  } finally {
    await handle.close();
  }
}

type ReadAt = (
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
) => Promise<{ bytesRead: number }>;

type Limits = typeof defaultLimits;

function definedOnly(options: ReadGgufOptions): Partial<Limits> {
  const result: Partial<Limits> = {};
  for (const key of Object.keys(defaultLimits) as (keyof Limits)[]) {
    const value = options[key];
    if (value !== undefined) {
      result[key] = value;
    }
  }
  return result;
}

/**
 * A forward-only buffered reader over the file. `position` is absolute; every read first checks the
 * bytes exist (so truncation is reported with what was being read) and that the header limit holds.
 */
class HeaderReader {
  position = 0;
  /** Items of all metadata arrays so far, counted against `limits.maxArrayItems`. */
  arrayItemsRead = 0;
  private buffer = Buffer.alloc(chunkBytes);
  /** File position of `buffer[0]`, and how many bytes of `buffer` are valid. */
  private bufferStart = 0;
  private bufferLength = 0;

  constructor(
    private readonly readAt: ReadAt,
    readonly fileSize: number,
    readonly name: string,
    readonly limits: Limits,
    private readonly signal: AbortSignal | undefined,
  ) {}

  fail(message: string): never {
    throw new OstromError("invalid_model_file", `${this.name} ${message}`);
  }

  get remaining(): number {
    return this.fileSize - this.position;
  }

  /** Makes `length` bytes at `position` available in the buffer; returns their index in it. */
  private async ensure(length: number, what: string): Promise<number> {
    const end = this.position + length;
    if (end > this.fileSize) {
      this.fail(`is truncated: ${what} needs bytes up to ${end} but the file ends at byte ${this.fileSize}`);
    }
    if (end > this.limits.maxHeaderBytes) {
      this.fail(`has a header larger than the ${formatBytes(this.limits.maxHeaderBytes)} limit (at ${what})`);
    }
    if (end <= this.bufferStart + this.bufferLength) {
      return this.position - this.bufferStart;
    }
    this.signal?.throwIfAborted();
    const keep = this.bufferStart + this.bufferLength - this.position;
    if (length > this.buffer.length) {
      // Only strings grow the buffer, and their length is bounded by maxStringBytes and the file size.
      const grown = Buffer.alloc(length);
      this.buffer.copy(grown, 0, this.position - this.bufferStart, this.bufferStart + this.bufferLength);
      this.buffer = grown;
    } else if (keep > 0) {
      this.buffer.copyWithin(0, this.position - this.bufferStart, this.bufferStart + this.bufferLength);
    }
    this.bufferStart = this.position;
    this.bufferLength = Math.max(keep, 0);
    const want = Math.min(this.buffer.length, this.fileSize - this.bufferStart);
    while (this.bufferLength < length) {
      const { bytesRead } = await this.readAt(
        this.buffer,
        this.bufferLength,
        want - this.bufferLength,
        this.bufferStart + this.bufferLength,
      );
      if (bytesRead === 0) {
        this.fail(
          `is truncated: ${what} needs bytes up to ${end} but reading stopped at byte ${this.bufferStart + this.bufferLength}`,
        );
      }
      this.bufferLength += bytesRead;
    }
    return 0;
  }

  async bytes(length: number, what: string): Promise<Buffer> {
    const index = await this.ensure(length, what);
    this.position += length;
    return this.buffer.subarray(index, index + length);
  }

  async u32(what: string): Promise<number> {
    const index = await this.ensure(4, what);
    this.position += 4;
    return this.buffer.readUInt32LE(index);
  }

  async u64(what: string): Promise<bigint> {
    const index = await this.ensure(8, what);
    this.position += 8;
    return this.buffer.readBigUInt64LE(index);
  }

  /** Reads a GGUF string (uint64 length + UTF-8 bytes); invalid UTF-8 becomes U+FFFD. */
  async string(what: string): Promise<string> {
    const length = await this.u64(`the length of ${what}`);
    if (length > BigInt(this.limits.maxStringBytes)) {
      this.fail(
        `has ${what} of ${length} bytes, more than the ${formatBytes(this.limits.maxStringBytes)} limit`,
      );
    }
    const byteLength = Number(length);
    if (byteLength > this.remaining) {
      this.fail(
        `is truncated: ${what} is ${byteLength} bytes long but the file ends at byte ${this.fileSize}`,
      );
    }
    if (byteLength === 0) {
      return "";
    }
    const index = await this.ensure(byteLength, what);
    this.position += byteLength;
    return this.buffer.toString("utf8", index, index + byteLength);
  }

  /** Reads a fixed-size scalar. */
  async scalar(type: FixedSizeTypeName, what: string): Promise<number | bigint | boolean> {
    const size = ggufScalarByteSizes[type];
    const index = await this.ensure(size, what);
    this.position += size;
    return this.decode(type, index, () => what, 0);
  }

  /**
   * Reads `count` fixed-size scalars a buffer-full at a time, so that large arrays cost one await per
   * megabyte rather than one per item.
   */
  async scalars<T extends number | bigint | boolean>(
    type: FixedSizeTypeName,
    count: number,
    what: (index: number) => string,
  ): Promise<T[]> {
    const size = ggufScalarByteSizes[type];
    const perChunk = Math.floor(chunkBytes / size);
    const values: T[] = [];
    while (values.length < count) {
      const n = Math.min(count - values.length, perChunk);
      let index = await this.ensure(n * size, what(values.length));
      for (let i = 0; i < n; i++, index += size) {
        values.push(this.decode(type, index, what, values.length) as T);
      }
      this.position += n * size;
    }
    return values;
  }

  /** Reads `count` strings, decoding synchronously while they are already buffered. */
  async strings(count: number, what: (index: number) => string): Promise<string[]> {
    const values: string[] = [];
    while (values.length < count) {
      // Fast path: the whole string is buffered and within every limit. Anything else, including
      // every error, goes through the checked `string()`.
      const readable = Math.min(this.bufferStart + this.bufferLength, this.limits.maxHeaderBytes);
      if (this.position + 8 <= readable) {
        const index = this.position - this.bufferStart;
        const length = this.buffer.readBigUInt64LE(index);
        if (length <= BigInt(this.limits.maxStringBytes) && this.position + 8 + Number(length) <= readable) {
          values.push(this.buffer.toString("utf8", index + 8, index + 8 + Number(length)));
          this.position += 8 + Number(length);
          continue;
        }
      }
      values.push(await this.string(what(values.length)));
    }
    return values;
  }

  /** `what(item)` names the value for the error message; it is only called on failure. */
  private decode(
    type: FixedSizeTypeName,
    index: number,
    what: (item: number) => string,
    item: number,
  ): number | bigint | boolean {
    const b = this.buffer;
    switch (type) {
      case "uint8":
        return b.readUInt8(index);
      case "int8":
        return b.readInt8(index);
      case "uint16":
        return b.readUInt16LE(index);
      case "int16":
        return b.readInt16LE(index);
      case "uint32":
        return b.readUInt32LE(index);
      case "int32":
        return b.readInt32LE(index);
      case "float32":
        return b.readFloatLE(index);
      case "float64":
        return b.readDoubleLE(index);
      case "uint64":
        return b.readBigUInt64LE(index);
      case "int64":
        return b.readBigInt64LE(index);
      case "bool": {
        const value = b.readUInt8(index);
        if (value > 1) {
          this.fail(`has ${what(item)} with invalid boolean byte ${value}`);
        }
        return value === 1;
      }
      default:
        return type satisfies never;
    }
  }
}

type FixedSizeTypeName = Exclude<GgufScalarTypeName, "string">;

const valueTypeNamesById: readonly GgufScalarTypeName[] = [
  "uint8",
  "int8",
  "uint16",
  "int16",
  "uint32",
  "int32",
  "float32",
  "bool",
  "string",
];

function getValueTypeName(id: number): GgufScalarTypeName | "array" | undefined {
  if (id < valueTypeNamesById.length) {
    return valueTypeNamesById[id];
  }
  switch (id) {
    case 9:
      return "array";
    case 10:
      return "uint64";
    case 11:
      return "int64";
    case 12:
      return "float64";
    default:
      return undefined;
  }
}

async function parseGguf(reader: HeaderReader): Promise<GgufInfo> {
  if (reader.fileSize === 0) {
    reader.fail("is empty, not a GGUF file");
  }
  if (reader.fileSize < 4) {
    reader.fail(`is not a GGUF file (it is only ${reader.fileSize} bytes long)`);
  }
  const magic = await reader.bytes(4, "the magic number");
  if (!isGgufMagic(magic)) {
    reader.fail(`is not a GGUF file (magic '${describeBytes(magic)}')`);
  }
  const version = await reader.u32("the version");
  if ((version & 0xffff) === 0 && version !== 0) {
    reader.fail(
      `is a big-endian GGUF file (version ${swapBytes32(version)}), which is not supported; use a little-endian conversion`,
    );
  }
  if (version === 1) {
    reader.fail("is GGUF version 1, which is no longer supported (re-convert it with a current llama.cpp)");
  }
  if (version !== 2 && version !== 3) {
    reader.fail(`has unsupported GGUF version ${version} (supported: 2 and 3)`);
  }
  const tensorCount = await readCount(
    reader,
    ["tensor", "tensors"],
    reader.limits.maxTensorCount,
    minTensorInfoBytes,
  );
  const metadataCount = await readCount(
    reader,
    ["metadata entry", "metadata entries"],
    reader.limits.maxMetadataCount,
    // The tensor table follows the metadata, so both must fit in what is left.
    minMetadataEntryBytes,
    tensorCount * minTensorInfoBytes,
  );

  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = await reader.string(`metadata key ${i + 1} of ${metadataCount}`);
    if (key === "") {
      reader.fail(`has an empty metadata key (entry ${i + 1} of ${metadataCount})`);
    }
    if (metadata.has(key)) {
      reader.fail(`has metadata key '${key}' twice`);
    }
    metadata.set(key, await readValue(reader, key));
  }

  const alignment = getAlignment(reader, metadata);
  const tensors = await readTensorTable(reader, tensorCount);
  const headerEnd = reader.position;
  // llama.cpp pads the header to the alignment only when there is tensor data to align.
  const dataOffset = tensorCount > 0 ? alignUp(headerEnd, alignment) : headerEnd;
  if (dataOffset > reader.fileSize) {
    reader.fail(
      `is truncated: tensor data should start at byte ${dataOffset} but the file ends at byte ${reader.fileSize}`,
    );
  }
  checkTensorPlacement(reader, tensors, alignment, reader.fileSize - dataOffset);

  return { version, metadata, tensors, alignment, dataOffset, fileSize: reader.fileSize };
}

async function readCount(
  reader: HeaderReader,
  [singular, plural]: [string, string],
  limit: number,
  minBytesEach: number,
  bytesNeededAfter = 0,
): Promise<number> {
  const count = await reader.u64(`the number of ${plural}`);
  const what = count === 1n ? singular : plural;
  if (count > BigInt(limit)) {
    reader.fail(`header says ${count} ${what}, more than the limit of ${limit}`);
  }
  const n = Number(count);
  if (n * minBytesEach + bytesNeededAfter > reader.remaining) {
    reader.fail(`is truncated: header says ${n} ${what} but the file ends at byte ${reader.fileSize}`);
  }
  return n;
}

async function readValue(reader: HeaderReader, key: string): Promise<GgufMetadataValue> {
  const typeId = await reader.u32(`the type of '${key}'`);
  const type = getValueTypeName(typeId);
  if (type === undefined) {
    reader.fail(`has metadata key '${key}' with unknown value type ${typeId}`);
  }
  if (type !== "array") {
    return readScalar(reader, type, `the value of '${key}'`);
  }
  const itemTypeId = await reader.u32(`the item type of '${key}'`);
  const itemType = getValueTypeName(itemTypeId);
  if (itemType === undefined) {
    reader.fail(`has metadata array '${key}' with unknown item type ${itemTypeId}`);
  }
  if (itemType === "array") {
    reader.fail(`has metadata key '${key}' holding an array of arrays, which llama.cpp does not support`);
  }
  const count = await reader.u64(`the length of '${key}'`);
  const budget = reader.limits.maxArrayItems - reader.arrayItemsRead;
  if (count > BigInt(budget)) {
    reader.fail(
      `has ${count} items in metadata array '${key}', beyond the limit of ${reader.limits.maxArrayItems} array items per file`,
    );
  }
  const length = Number(count);
  reader.arrayItemsRead += length;
  const minItemBytes = itemType === "string" ? 8 : ggufScalarByteSizes[itemType];
  if (length * minItemBytes > reader.remaining) {
    reader.fail(
      `is truncated: metadata array '${key}' has ${length} items but the file ends at byte ${reader.fileSize}`,
    );
  }
  return readArray(reader, key, itemType, length);
}

async function readScalar(
  reader: HeaderReader,
  type: GgufScalarTypeName,
  what: string,
): Promise<GgufMetadataValue> {
  if (type === "string") {
    return { type, value: await reader.string(what) };
  }
  const value = await reader.scalar(type, what);
  switch (type) {
    case "bool":
      return { type, value: value as boolean };
    case "uint64":
    case "int64":
      return { type, value: value as bigint };
    default:
      return { type, value: value as number };
  }
}

async function readArray(
  reader: HeaderReader,
  key: string,
  itemType: GgufScalarTypeName,
  length: number,
): Promise<GgufArrayValue> {
  const what = (i: number) => `item ${i + 1} of ${length} of '${key}'`;
  switch (itemType) {
    case "string":
      return { type: "array", itemType, value: await reader.strings(length, what) };
    case "bool":
      return { type: "array", itemType, value: await reader.scalars<boolean>(itemType, length, what) };
    case "uint64":
    case "int64":
      return { type: "array", itemType, value: await reader.scalars<bigint>(itemType, length, what) };
    default:
      return { type: "array", itemType, value: await reader.scalars<number>(itemType, length, what) };
  }
}

function getAlignment(reader: HeaderReader, metadata: ReadonlyMap<string, GgufMetadataValue>): number {
  const entry = metadata.get("general.alignment");
  if (entry === undefined) {
    return ggufDefaultAlignment;
  }
  if (entry.type !== "uint32") {
    reader.fail(`has 'general.alignment' of type ${entry.type}; it must be uint32`);
  }
  const alignment = entry.value;
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
    reader.fail(`has 'general.alignment' ${alignment}, which is not a power of two`);
  }
  return alignment;
}

async function readTensorTable(reader: HeaderReader, tensorCount: number): Promise<GgufTensorInfo[]> {
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const position = `tensor ${i + 1} of ${tensorCount}`;
    const name = await reader.string(`the name of ${position}`);
    if (name === "") {
      reader.fail(`has an empty name for ${position}`);
    }
    if (Buffer.byteLength(name) > maxTensorNameBytes) {
      reader.fail(`has tensor name '${name.slice(0, 80)}' longer than ${maxTensorNameBytes} bytes`);
    }
    if (names.has(name)) {
      reader.fail(`has two tensors named '${name}'`);
    }
    names.add(name);
    const what = `tensor '${name}'`;

    const dimensionCount = await reader.u32(`the dimension count of ${what}`);
    if (dimensionCount === 0 || dimensionCount > maxDimensions) {
      reader.fail(`has ${what} with ${dimensionCount} dimensions (must be 1 to ${maxDimensions})`);
    }
    const dimensions: number[] = [];
    let elementCount = 1n;
    for (let d = 0; d < dimensionCount; d++) {
      const size = await reader.u64(`dimension ${d} of ${what}`);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
        reader.fail(`has ${what} with dimension ${d} of ${size}, beyond 2^53`);
      }
      dimensions.push(Number(size));
      elementCount *= size;
    }
    if (elementCount > BigInt(Number.MAX_SAFE_INTEGER)) {
      reader.fail(`has ${what} with ${elementCount} elements, beyond 2^53`);
    }

    const type = await reader.u32(`the type of ${what}`);
    const typeName = getGgmlTypeName(type);
    if (typeName === undefined) {
      reader.fail(`has ${what} of unknown ggml type ${type}`);
    }
    const { blockSize, bytesPerBlock } = ggmlTypes[typeName];
    const rowLength = dimensions[0] ?? 0;
    if (rowLength % blockSize !== 0) {
      reader.fail(
        `has ${what} of type ${typeName} with rows of ${rowLength} elements, not a multiple of its block size ${blockSize}`,
      );
    }
    // Exact: elementCount < 2^53 and bytesPerBlock / blockSize <= 8, so the product stays below 2^56,
    // and is rejected just below if it does not fit a safe integer.
    const byteSize = (elementCount / BigInt(blockSize)) * BigInt(bytesPerBlock);
    if (byteSize > BigInt(Number.MAX_SAFE_INTEGER)) {
      reader.fail(`has ${what} of ${byteSize} bytes, beyond 2^53`);
    }

    const offset = await reader.u64(`the data offset of ${what}`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      reader.fail(`has ${what} at data offset ${offset}, beyond 2^53`);
    }
    tensors.push({
      name,
      dimensions,
      type,
      typeName: typeName satisfies GgmlTypeName,
      offset: Number(offset),
      byteSize: Number(byteSize),
      elementCount: Number(elementCount),
    });
  }
  return tensors;
}

function checkTensorPlacement(
  reader: HeaderReader,
  tensors: readonly GgufTensorInfo[],
  alignment: number,
  dataBytes: number,
): void {
  for (const tensor of tensors) {
    if (tensor.offset % alignment !== 0) {
      reader.fail(
        `has tensor '${tensor.name}' at data offset ${tensor.offset}, not a multiple of the alignment ${alignment}`,
      );
    }
    if (tensor.offset + tensor.byteSize > dataBytes) {
      const end = reader.fileSize - dataBytes + tensor.offset + tensor.byteSize;
      reader.fail(
        `is truncated: tensor '${tensor.name}' (${tensor.byteSize} bytes) needs bytes up to ${end} but the file ends at byte ${reader.fileSize}`,
      );
    }
  }
  // Sorted by offset, a tensor overlaps an earlier one exactly when it starts before the furthest end so far.
  const byOffset = tensors.filter((tensor) => tensor.byteSize > 0).sort((a, b) => a.offset - b.offset);
  let furthest: GgufTensorInfo | undefined;
  for (const tensor of byOffset) {
    if (furthest !== undefined && furthest.offset + furthest.byteSize > tensor.offset) {
      reader.fail(`has overlapping tensors '${furthest.name}' and '${tensor.name}'`);
    }
    if (furthest === undefined || tensor.offset + tensor.byteSize > furthest.offset + furthest.byteSize) {
      furthest = tensor;
    }
  }
}

function swapBytes32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function describeBytes(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    text +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return text;
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
