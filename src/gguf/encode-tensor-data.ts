// Encodes float32 values into the byte layout of a ggml tensor type: F32, F16 or Q8_0. Enough for the
// models Ostrom generates itself; it is not a general quantiser (no K-quants, no importance matrix).
// Pure functions; no I/O.

import { ggmlTypes } from "./gguf-types.ts";

export type EncodableTensorType = "F32" | "F16" | "Q8_0";

const isLittleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const q8BlockSize = ggmlTypes.Q8_0.blockSize;
const q8BlockBytes = ggmlTypes.Q8_0.bytesPerBlock;

/**
 * Encodes `values` as `type`, little-endian. For Q8_0 the length must be a multiple of 32: each block
 * of 32 values becomes an f16 scale `d = max|x| / 127` followed by 32 int8 `round(x / d)`, as ggml's
 * reference quantiser does.
 */
export function encodeTensorData(values: Float32Array, type: EncodableTensorType): Uint8Array {
  switch (type) {
    case "F32": {
      if (isLittleEndianHost) {
        return new Uint8Array(new Float32Array(values).buffer);
      }
      const bytes = new Uint8Array(values.length * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < values.length; i++) {
        view.setFloat32(i * 4, values[i]!, true);
      }
      return bytes;
    }
    case "F16": {
      const bytes = new Uint8Array(values.length * 2);
      for (let i = 0; i < values.length; i++) {
        const half = toFloat16Bits(values[i]!);
        bytes[i * 2] = half & 0xff;
        bytes[i * 2 + 1] = half >>> 8;
      }
      return bytes;
    }
    case "Q8_0":
      return quantizeQ8_0(values);
    default:
      throw new TypeError(`Cannot encode tensor type ${String(type satisfies never)}`);
  }
}

function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % q8BlockSize !== 0) {
    throw new RangeError(`Q8_0 needs a multiple of ${q8BlockSize} values, got ${values.length}`);
  }
  const blocks = values.length / q8BlockSize;
  const bytes = new Uint8Array(blocks * q8BlockBytes);
  const quants = new Int8Array(bytes.buffer);
  // This loop dominates generating large test models; the branchy rounding measured faster than Math.round.
  for (let block = 0; block < blocks; block++) {
    const start = block * q8BlockSize;
    let max = 0;
    for (let i = start; i < start + q8BlockSize; i++) {
      max = Math.max(max, Math.abs(values[i]!));
    }
    const scale = max / 127;
    const inverse = scale === 0 ? 0 : 1 / scale;
    const out = block * q8BlockBytes;
    const half = toFloat16Bits(scale);
    bytes[out] = half & 0xff;
    bytes[out + 1] = half >>> 8;
    for (let i = 0; i < q8BlockSize; i++) {
      // Round half away from zero, like the C roundf ggml uses.
      const scaled = values[start + i]! * inverse;
      quants[out + 2 + i] = scaled >= 0 ? (scaled + 0.5) | 0 : (scaled - 0.5) | 0;
    }
  }
  return bytes;
}

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (overflow becomes ±Infinity). */
export function toFloat16Bits(value: number): number {
  float32[0] = value;
  const bits = float32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) {
    return sign | 0x7c00;
  }
  if (halfExponent <= 0) {
    // Subnormal half: the value is (1.mantissa) · 2^(exponent-127) = m · 2^-24 for a 10-bit m.
    if (halfExponent < -10) {
      return sign;
    }
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let m = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (m & 1) === 1)) {
      m++;
    }
    return sign | m;
  }
  let half = sign | (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) {
    // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
    half++;
  }
  return half;
}
