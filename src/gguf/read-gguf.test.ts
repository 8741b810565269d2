// Tests for the GGUF reader: round trips through the writer, every class of malformed file the
// validator must refuse (with invalid_model_file and a message naming the fault), and the real small
// models in the shared folder when they are present.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { isOstromError } from "../errors.ts";
import { encodeTensorData } from "./encode-tensor-data.ts";
import { type GgufMetadataEntry, ggmlTypes } from "./gguf-types.ts";
import { isGgufMagic, type ReadGgufOptions, readGgufInfo } from "./read-gguf.ts";
import { summarizeGguf } from "./summarize-gguf.ts";
import { writeGguf } from "./write-gguf.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sharedModels = process.env.OSTROM_SHARED_MODELS ?? resolve(repoRoot, "../shared/models");

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ostrom-gguf-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Little-endian byte assembly for hand-made (and deliberately broken) GGUF files. */
class Bytes {
  private readonly parts: Buffer[] = [];
  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }
  raw(bytes: Uint8Array | number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    return this.raw(b);
  }
  u64(value: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    return this.raw(b);
  }
  str(value: string): this {
    const bytes = Buffer.from(value);
    return this.u64(bytes.length).raw(bytes);
  }
  header(tensorCount: number | bigint, kvCount: number | bigint, version = 3): this {
    return this.raw(Buffer.from("GGUF")).u32(version).u64(tensorCount).u64(kvCount);
  }
  kvU32(key: string, value: number): this {
    return this.str(key).u32(4).u32(value);
  }
  tensor(name: string, dimensions: (number | bigint)[], type: number, offset: number | bigint): this {
    this.str(name).u32(dimensions.length);
    for (const size of dimensions) {
      this.u64(size);
    }
    return this.u32(type).u64(offset);
  }
  padTo(alignment: number): this {
    return this.raw(new Uint8Array((alignment - (this.length % alignment)) % alignment));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

let fileCounter = 0;
async function writeTemp(bytes: Uint8Array, name = `file-${fileCounter++}.gguf`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function assertInvalid(bytes: Uint8Array, pattern: RegExp, options?: ReadGgufOptions): Promise<void> {
  const path = await writeTemp(bytes, "bad.gguf");
  await assert.rejects(readGgufInfo(path, options), (error: unknown) => {
    assert.ok(
      isOstromError(error, "invalid_model_file"),
      `expected invalid_model_file, got ${String(error)}`,
    );
    assert.match(error.message, /^bad\.gguf /);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A well-formed file with one F32 tensor of 8 elements; pieces can be swapped for broken ones. */
function fileWithTensors(build: (bytes: Bytes) => Bytes, tensorCount: number, dataBytes: number): Buffer {
  const bytes = build(new Bytes().header(tensorCount, 0)).padTo(32);
  return bytes.raw(new Uint8Array(dataBytes)).toBuffer();
}

const sampleMetadata: GgufMetadataEntry[] = [
  ["general.architecture", { type: "string", value: "llama" }],
  ["test.u8", { type: "uint8", value: 255 }],
  ["test.i8", { type: "int8", value: -128 }],
  ["test.u16", { type: "uint16", value: 65535 }],
  ["test.i16", { type: "int16", value: -32768 }],
  ["test.u32", { type: "uint32", value: 4294967295 }],
  ["test.i32", { type: "int32", value: -2147483648 }],
  ["test.f32", { type: "float32", value: 0.5 }],
  ["test.f64", { type: "float64", value: Math.PI }],
  ["test.u64", { type: "uint64", value: 18446744073709551615n }],
  ["test.i64", { type: "int64", value: -9223372036854775808n }],
  ["test.bool", { type: "bool", value: true }],
  ["test.string", { type: "string", value: "héllo ▁wörld 🦙" }],
  ["test.empty", { type: "string", value: "" }],
  ["test.strings", { type: "array", itemType: "string", value: ["a", "", "ü"] }],
  ["test.floats", { type: "array", itemType: "float32", value: [1, -2.5, 0] }],
  ["test.ints", { type: "array", itemType: "int32", value: [1, -2, 3] }],
  ["test.bools", { type: "array", itemType: "bool", value: [true, false] }],
  ["test.u64s", { type: "array", itemType: "uint64", value: [1n, 2n ** 60n] }],
  ["test.none", { type: "array", itemType: "uint8", value: [] }],
];

describe("readGgufInfo round trip", () => {
  it("reads back exactly what writeGguf wrote", async () => {
    const f32 = encodeTensorData(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "F32");
    const q8 = encodeTensorData(
      new Float32Array(64).map((_, i) => i / 64 - 0.5),
      "Q8_0",
    );
    const q4k = new Uint8Array(ggmlTypes.Q4_K.bytesPerBlock * 2).fill(7);
    const path = join(dir, "round-trip.gguf");
    const { fileSize } = await writeGguf(path, {
      metadata: sampleMetadata,
      tensors: [
        { name: "a", dimensions: [10], type: "F32", data: f32 },
        { name: "b", dimensions: [32, 2], type: "Q8_0", data: q8 },
        {
          name: "c",
          dimensions: [256, 1, 2],
          type: "Q4_K",
          data: () => [q4k.subarray(0, 100), q4k.subarray(100)],
        },
      ],
    });
    const info = await readGgufInfo(path);
    assert.equal(info.version, 3);
    assert.equal(info.fileSize, fileSize);
    assert.equal(info.fileSize, (await stat(path)).size);
    assert.equal(info.alignment, 32);
    assert.equal(info.dataOffset % 32, 0);
    assert.deepEqual(
      [...info.metadata],
      [...sampleMetadata, ["general.alignment", { type: "uint32", value: 32 }]],
    );
    assert.deepEqual(
      info.tensors.map(({ name, dimensions, typeName, offset, byteSize, elementCount }) => ({
        name,
        dimensions,
        typeName,
        offset,
        byteSize,
        elementCount,
      })),
      [
        { name: "a", dimensions: [10], typeName: "F32", offset: 0, byteSize: 40, elementCount: 10 },
        { name: "b", dimensions: [32, 2], typeName: "Q8_0", offset: 64, byteSize: 68, elementCount: 64 },
        {
          name: "c",
          dimensions: [256, 1, 2],
          typeName: "Q4_K",
          offset: 160,
          byteSize: 288,
          elementCount: 512,
        },
      ],
    );
    const file = await readFile(path);
    for (const [tensor, data] of [
      [info.tensors[0]!, f32],
      [info.tensors[1]!, q8],
      [info.tensors[2]!, q4k],
    ] as const) {
      const start = info.dataOffset + tensor.offset;
      assert.deepEqual(new Uint8Array(file.subarray(start, start + tensor.byteSize)), data);
    }
  });

  it("honours a custom alignment and accepts GGUF version 2", async () => {
    const path = join(dir, "aligned.gguf");
    await writeGguf(
      path,
      {
        metadata: [],
        tensors: [
          { name: "x", dimensions: [3], type: "F32", data: new Uint8Array(12) },
          { name: "y", dimensions: [5], type: "F16", data: new Uint8Array(10) },
        ],
      },
      { alignment: 64 },
    );
    const file = await readFile(path);
    file.writeUInt32LE(2, 4);
    const info = await readGgufInfo(await writeTemp(file));
    assert.equal(info.version, 2);
    assert.equal(info.alignment, 64);
    assert.equal(info.dataOffset % 64, 0);
    assert.deepEqual(
      info.tensors.map((tensor) => tensor.offset),
      [0, 64],
    );
  });

  it("reads a file without tensors", async () => {
    const path = join(dir, "no-tensors.gguf");
    await writeGguf(path, { metadata: [["general.name", { type: "string", value: "x" }]], tensors: [] });
    const info = await readGgufInfo(path);
    assert.equal(info.tensors.length, 0);
    assert.equal(info.dataOffset, info.fileSize);
  });

  it("writeGguf refuses inconsistent input and leaves no file behind", async () => {
    const path = join(dir, "refused.gguf");
    await assert.rejects(
      writeGguf(path, {
        metadata: [],
        tensors: [{ name: "x", dimensions: [4], type: "F32", data: new Uint8Array(3) }],
      }),
      /needs 16 bytes, got 3/,
    );
    await assert.rejects(
      writeGguf(path, {
        metadata: [],
        tensors: [{ name: "x", dimensions: [4], type: "F32", data: () => [new Uint8Array(8)] }],
      }),
      /only 8 of 16 bytes/,
    );
    await assert.rejects(
      writeGguf(path, { metadata: [["k", { type: "uint32", value: -1 }]], tensors: [] }),
      RangeError,
    );
    await assert.rejects(
      writeGguf(path, {
        metadata: [
          ["k", { type: "uint8", value: 1 }],
          ["k", { type: "uint8", value: 2 }],
        ],
        tensors: [],
      }),
      /appears twice/,
    );
    await assert.rejects(
      writeGguf(path, {
        metadata: [],
        tensors: [{ name: "x", dimensions: [33], type: "Q8_0", data: new Uint8Array(0) }],
      }),
      /multiple of 32/,
    );
    await assert.rejects(
      writeGguf(path, {
        metadata: [],
        tensors: [
          { name: "x", dimensions: [1], type: "F32", data: new Uint8Array(4) },
          { name: "x", dimensions: [1], type: "F32", data: new Uint8Array(4) },
        ],
      }),
      /appears twice/,
    );
    await assert.rejects(
      writeGguf(path, {
        metadata: [],
        tensors: [{ name: "x", dimensions: [1], type: "F32", data: () => [new Uint8Array(8)] }],
      }),
      /produced more than 4 bytes/,
    );
    await assert.rejects(stat(path), { code: "ENOENT" });
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith("refused.gguf")),
      [],
    );
  });

  it("isGgufMagic recognises the magic only", () => {
    assert.equal(isGgufMagic(Buffer.from("GGUF\x03\x00")), true);
    assert.equal(isGgufMagic(Buffer.from("GGU")), false);
    assert.equal(isGgufMagic(Buffer.from("PK\x03\x04")), false);
  });
});

describe("readGgufInfo rejects malformed files", { timeout: 20_000 }, () => {
  it("empty, short and wrong-magic files", async () => {
    await assertInvalid(new Uint8Array(0), /is empty/);
    await assertInvalid(Buffer.from("GG"), /only 2 bytes long/);
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]);
    const path = await writeTemp(zip, "x.gguf");
    await assert.rejects(readGgufInfo(path), {
      code: "invalid_model_file",
      message: "x.gguf is not a GGUF file (magic 'PK\\x03\\x04')",
    });
  });

  it("directories and FIFOs, without blocking on the FIFO", async () => {
    await assert.rejects(readGgufInfo(dir), { code: "invalid_model_file", message: /is not a regular file/ });
    const fifo = join(dir, "pipe.gguf");
    execFileSync("mkfifo", [fifo]);
    await assert.rejects(readGgufInfo(fifo), {
      code: "invalid_model_file",
      message: "pipe.gguf is not a regular file",
    });
    await assert.rejects(readGgufInfo(join(dir, "missing.gguf")), { code: "ENOENT" });
  });

  it("unsupported versions and big-endian files", async () => {
    await assertInvalid(new Bytes().header(0, 0, 1).toBuffer(), /version 1, which is no longer supported/);
    await assertInvalid(
      new Bytes().header(0, 0, 4).toBuffer(),
      /unsupported GGUF version 4 \(supported: 2 and 3\)/,
    );
    await assertInvalid(new Bytes().header(0, 0, 0).toBuffer(), /unsupported GGUF version 0/);
    const bigEndian = new Bytes().raw(Buffer.from("GGUF")).raw([0, 0, 0, 3]).raw(new Uint8Array(16));
    await assertInvalid(bigEndian.toBuffer(), /big-endian GGUF file \(version 3\)/);
  });

  it("a file truncated at any byte", async () => {
    const path = join(dir, "whole.gguf");
    await writeGguf(path, {
      metadata: [
        ["general.architecture", { type: "string", value: "llama" }],
        ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: ["<s>", "a", "b"] }],
        ["x.scores", { type: "array", itemType: "float32", value: [1, 2, 3] }],
        ["x.count", { type: "uint64", value: 3n }],
      ],
      tensors: [
        { name: "t0", dimensions: [4, 2], type: "F32", data: new Uint8Array(32) },
        { name: "t1", dimensions: [3], type: "F32", data: new Uint8Array(12) },
      ],
    });
    const whole = await readFile(path);
    const info = await readGgufInfo(path);
    const dataEnd = info.dataOffset + Math.max(...info.tensors.map((t) => t.offset + t.byteSize));
    assert.ok(dataEnd > 100);
    for (let length = 0; length < dataEnd; length++) {
      await assertInvalid(whole.subarray(0, length), length < 4 ? /empty|bytes long/ : /is truncated/);
    }
  });

  it("absurd or impossible counts", async () => {
    await assertInvalid(
      new Bytes().header(2n ** 40n, 0).toBuffer(),
      /header says 1099511627776 tensors, more than the limit of 1000000/,
    );
    await assertInvalid(new Bytes().header(0, 2n ** 63n).toBuffer(), /more than the limit of 1000000/);
    await assertInvalid(
      new Bytes().header(999_999, 0).raw(new Uint8Array(100)).toBuffer(),
      /truncated: header says 999999 tensors but the file ends at byte 124/,
    );
    await assertInvalid(
      new Bytes().header(0, 5000).kvU32("a", 1).toBuffer(),
      /truncated: header says 5000 metadata entries/,
    );
    await assertInvalid(
      new Bytes().header(3, 0).toBuffer(),
      /truncated: header says 3 tensors but the file ends at byte 24/,
    );
    await assertInvalid(new Bytes().header(5, 0).toBuffer(), /more than the limit of 4/, {
      maxTensorCount: 4,
    });
  });

  it("strings beyond the file, the string limit or the header limit", async () => {
    await assertInvalid(
      new Bytes()
        .header(0, 1)
        .u64(2n ** 62n)
        .raw(new Uint8Array(16))
        .toBuffer(),
      /metadata key 1 of 1 of 4611686018427387904 bytes, more than the 16 MiB limit/,
    );
    await assertInvalid(
      new Bytes().header(0, 1).u64(1000).raw(Buffer.from("abcdefghij")).toBuffer(),
      /truncated: metadata key 1 of 1 is 1000 bytes long but the file ends at byte 42/,
    );
    const longValue = new Bytes().header(0, 1).str("k").u32(8).str("x".repeat(100)).toBuffer();
    await assertInvalid(longValue, /the value of 'k' of 100 bytes, more than the 64 bytes limit/, {
      maxStringBytes: 64,
    });
    await assertInvalid(longValue, /header larger than the 120 bytes limit/, { maxHeaderBytes: 120 });
  });

  it("arrays of absurd length, unknown types and nested arrays", async () => {
    const array = (itemType: number, length: number | bigint) =>
      new Bytes().header(0, 1).str("arr").u32(9).u32(itemType).u64(length);
    const twoArrays = new Bytes().header(0, 2);
    twoArrays.str("a").u32(9).u32(0).u64(6).raw(new Uint8Array(6));
    twoArrays.str("b").u32(9).u32(0).u64(5).raw(new Uint8Array(5));
    await assertInvalid(
      twoArrays.toBuffer(),
      /has 5 items in metadata array 'b', beyond the limit of 10 array items/,
      {
        maxArrayItems: 10,
      },
    );
    await assertInvalid(
      array(4, 2n ** 60n).toBuffer(),
      /has 1152921504606846976 items in metadata array 'arr', beyond the limit of 16777216 array items per file/,
    );
    await assertInvalid(
      array(4, 1_000_000).u32(1).toBuffer(),
      /truncated: metadata array 'arr' has 1000000 items/,
    );
    await assertInvalid(array(8, 10).str("a").toBuffer(), /truncated: metadata array 'arr' has 10 items/);
    await assertInvalid(
      array(8, 2).str("a").u64(50).toBuffer(),
      /truncated: item 2 of 2 of 'arr' is 50 bytes long/,
    );
    await assertInvalid(array(9, 1).toBuffer(), /array of arrays/);
    await assertInvalid(array(77, 1).toBuffer(), /metadata array 'arr' with unknown item type 77/);
    await assertInvalid(
      new Bytes().header(0, 1).str("k").u32(13).u32(0).toBuffer(),
      /metadata key 'k' with unknown value type 13/,
    );
    await assertInvalid(
      new Bytes().header(0, 1).str("k").u32(7).raw([2]).toBuffer(),
      /invalid boolean byte 2/,
    );
  });

  it("empty and duplicate metadata keys, bad alignment", async () => {
    await assertInvalid(new Bytes().header(0, 1).str("").u32(4).u32(1).toBuffer(), /empty metadata key/);
    await assertInvalid(
      new Bytes().header(0, 2).kvU32("a", 1).kvU32("a", 2).toBuffer(),
      /metadata key 'a' twice/,
    );
    await assertInvalid(
      new Bytes().header(0, 1).kvU32("general.alignment", 48).toBuffer(),
      /'general.alignment' 48, which is not a power of two/,
    );
    await assertInvalid(
      new Bytes().header(0, 1).kvU32("general.alignment", 0).toBuffer(),
      /not a power of two/,
    );
    await assertInvalid(
      new Bytes().header(0, 1).str("general.alignment").u32(10).u64(32).toBuffer(),
      /'general.alignment' of type uint64; it must be uint32/,
    );
  });

  it("bad tensor names, dimensions and types", async () => {
    const one = (name: string, dims: (number | bigint)[], type = 0) =>
      fileWithTensors((b) => b.tensor(name, dims, type, 0), 1, 64);
    await assertInvalid(one("t", []), /tensor 't' with 0 dimensions \(must be 1 to 4\)/);
    await assertInvalid(one("t", [1, 1, 1, 1, 1]), /tensor 't' with 5 dimensions/);
    await assertInvalid(one("t", [2n ** 60n]), /dimension 0 of 1152921504606846976, beyond 2\^53/);
    await assertInvalid(
      one("t", [2n ** 30n, 2n ** 30n]),
      /tensor 't' with 1152921504606846976 elements, beyond 2\^53/,
    );
    await assertInvalid(one("t", [4], 99), /tensor 't' of unknown ggml type 99/);
    await assertInvalid(one("t", [4], 4), /unknown ggml type 4/);
    await assertInvalid(
      one("t", [33], ggmlTypes.Q8_0.id),
      /type Q8_0 with rows of 33 elements, not a multiple of its block size 32/,
    );
    await assertInvalid(one("", [4]), /empty name for tensor 1 of 1/);
    await assertInvalid(one("x".repeat(64), [4]), /longer than 63 bytes/);
    await assertInvalid(
      fileWithTensors((b) => b.tensor("t", [4], 0, 0).tensor("t", [4], 0, 32), 2, 64),
      /two tensors named 't'/,
    );
  });

  it("misplaced tensor data", async () => {
    await assertInvalid(
      fileWithTensors((b) => b.tensor("t", [4], 0, 8), 1, 64),
      /tensor 't' at data offset 8, not a multiple of the alignment 32/,
    );
    await assertInvalid(
      fileWithTensors((b) => b.tensor("t", [16], 0, 32), 1, 64),
      /truncated: tensor 't' \(64 bytes\) needs bytes up to \d+ but the file ends/,
    );
    await assertInvalid(
      fileWithTensors((b) => b.tensor("t", [4], 0, 2n ** 62n), 1, 64),
      /data offset 4611686018427387904, beyond 2\^53/,
    );
    await assertInvalid(
      fileWithTensors(
        (b) => b.tensor("big", [24], 0, 0).tensor("small", [4], 0, 64).tensor("inside", [4], 0, 32),
        3,
        128,
      ),
      /overlapping tensors 'big' and 'inside'/,
    );
    await assertInvalid(
      fileWithTensors((b) => b.tensor("t", [4], 0, 0), 1, 0),
      /truncated: tensor data should start at byte 64|truncated: tensor 't'/,
    );
  });
});

describe("readGgufInfo on random corruptions", () => {
  it("either parses or fails with invalid_model_file, never another error", { timeout: 60_000 }, async () => {
    const path = join(dir, "fuzz-base.gguf");
    await writeGguf(path, {
      metadata: sampleMetadata,
      tensors: [
        { name: "a", dimensions: [8, 2], type: "F32", data: new Uint8Array(64) },
        { name: "b", dimensions: [32], type: "Q8_0", data: new Uint8Array(34) },
      ],
    });
    const base = await readFile(path);
    const target = join(dir, "fuzz.gguf");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(base.length),
        async (edits, length) => {
          const bytes = Buffer.from(base.subarray(0, Math.max(length, 4)));
          for (const [index, value] of edits) {
            if (index < bytes.length) {
              bytes[index] = value;
            }
          }
          await writeFile(target, bytes);
          try {
            await readGgufInfo(target);
          } catch (error) {
            assert.ok(isOstromError(error, "invalid_model_file"), `unexpected ${String(error)}`);
          }
        },
      ),
      { numRuns: 400, seed: 42 },
    );
  });
});

describe("real models from the shared folder", () => {
  it("stories260K.gguf", async (t) => {
    const path = join(sharedModels, "stories260K.gguf");
    if (!(await exists(path))) {
      t.skip(`${path} is missing`);
      return;
    }
    const info = await readGgufInfo(path);
    assert.equal(info.version, 3);
    assert.equal(info.fileSize, 1_185_376);
    assert.equal(info.tensors.length, 48);
    const summary = summarizeGguf(info);
    assert.equal(summary.architecture, "llama");
    assert.equal(summary.vocabularySize, 512);
    assert.equal(summary.contextLength, 2048);
    assert.equal(summary.parameterCount, 292_800);
    assert.equal(summary.blockCount, 5);
    assert.equal(summary.embeddingLength, 64);
    assert.equal(summary.headCount, 8);
    assert.equal(summary.headCountKv, 4);
    assert.equal(summary.quantization, "F32");
    assert.equal(summary.chatTemplate, null);
    assert.equal(summary.license, null);
    assert.equal(summary.isEmbeddingModel, false);
  });

  it("llama-2-tiny-random.gguf", async (t) => {
    const path = join(sharedModels, "llama-2-tiny-random.gguf");
    if (!(await exists(path))) {
      t.skip(`${path} is missing`);
      return;
    }
    const summary = summarizeGguf(await readGgufInfo(path));
    assert.equal(summary.architecture, "llama");
    assert.equal(summary.parameterCount, 513_048);
    assert.equal(summary.vocabularySize, 32_000);
    assert.equal(summary.contextLength, 4096);
    assert.equal(summary.quantization, "F16");
  });
});

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
