// Tests the float16 conversion against known bit patterns and Q8_0 blocks against ggml's layout.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeTensorData, toFloat16Bits } from "./encode-tensor-data.ts";

/** Decodes binary16 bits, for checking round trips. */
function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

describe("toFloat16Bits", () => {
  it("encodes known values", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to Infinity
      [Number.POSITIVE_INFINITY, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -26, 0x0000], // underflows
      [1 + 2 ** -11, 0x3c00], // tie, rounds to even
      [1 + 3 * 2 ** -11, 0x3c02], // tie, rounds to even (up)
    ];
    for (const [value, bits] of cases) {
      assert.equal(toFloat16Bits(value), bits, `${value}`);
    }
    assert.equal(toFloat16Bits(Number.NaN) & 0x7c00, 0x7c00);
    assert.notEqual(toFloat16Bits(Number.NaN) & 0x3ff, 0);
  });

  it("round-trips within half a unit in the last place", () => {
    for (let i = 0; i < 2000; i++) {
      const value = (Math.sin(i * 12.9898) * 43758.5453) % 1000;
      const back = fromFloat16Bits(toFloat16Bits(value));
      assert.ok(Math.abs(back - value) <= Math.abs(value) * 2 ** -11 + 2 ** -25, `${value} -> ${back}`);
    }
  });
});

describe("encodeTensorData", () => {
  it("writes F32 and F16 little-endian", () => {
    assert.deepEqual(
      [...encodeTensorData(new Float32Array([1, -2]), "F32")],
      [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0],
    );
    assert.deepEqual([...encodeTensorData(new Float32Array([1, -2]), "F16")], [0x00, 0x3c, 0x00, 0xc0]);
  });

  it("quantises Q8_0 blocks as scale + 32 int8", () => {
    const values = new Float32Array(64).map((_, i) => (i < 32 ? (i - 16) / 100 : 0));
    const bytes = encodeTensorData(values, "Q8_0");
    assert.equal(bytes.length, 68);
    const view = new DataView(bytes.buffer);
    const scale = fromFloat16Bits(view.getUint16(0, true));
    assert.ok(Math.abs(scale - 0.16 / 127) < 1e-6);
    for (let i = 0; i < 32; i++) {
      const restored = view.getInt8(2 + i) * scale;
      assert.ok(Math.abs(restored - values[i]!) <= scale / 2 + 1e-6, `value ${i}`);
    }
    assert.equal(view.getInt8(2), -127, "the largest magnitude maps to ±127");
    // An all-zero block has scale 0 and zero quants.
    assert.deepEqual([...bytes.subarray(34)], new Array(34).fill(0));
    assert.throws(() => encodeTensorData(new Float32Array(33), "Q8_0"), /multiple of 32/);
  });
});
