// Block formats of GGML that dbllm reads (and writes, for tests and converters): Q8_0, Q4_0, Q4_1.
// Each block covers 32 consecutive weights of a row and starts with an f16 scale (and, for Q4_1, an f16 minimum).
// Q4 blocks keep weight j in the low nibble of byte j and weight j+16 in the high nibble.
import { f16ToF32Table, f32ToF16 } from "./half.ts";

export const QK = 32;

export function decodeQ8_0(src: Uint8Array, dst: Float32Array): void {
  const t = f16ToF32Table();
  const nb = dst.length / QK;
  for (let b = 0; b < nb; b++) {
    const o = b * 34;
    const d = t[src[o] | (src[o + 1] << 8)];
    for (let j = 0; j < QK; j++) dst[b * QK + j] = ((src[o + 2 + j] << 24) >> 24) * d;
  }
}

export function decodeQ4_0(src: Uint8Array, dst: Float32Array): void {
  const t = f16ToF32Table();
  const nb = dst.length / QK;
  for (let b = 0; b < nb; b++) {
    const o = b * 18;
    const d = t[src[o] | (src[o + 1] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[b * QK + j] = ((q & 15) - 8) * d;
      dst[b * QK + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

export function decodeQ4_1(src: Uint8Array, dst: Float32Array): void {
  const t = f16ToF32Table();
  const nb = dst.length / QK;
  for (let b = 0; b < nb; b++) {
    const o = b * 20;
    const d = t[src[o] | (src[o + 1] << 8)], m = t[src[o + 2] | (src[o + 3] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      // rounded like ggml's C (product to f32, then the sum), so values match its dequantization bit for bit
      dst[b * QK + j] = Math.fround((q & 15) * d) + m;
      dst[b * QK + j + 16] = Math.fround((q >> 4) * d) + m;
    }
  }
}

// Encoders follow llama.cpp's reference quantizers (quantize_row_*_ref), so files we write dequantize the same
// way in both runtimes.

/** C's roundf: halves away from zero. */
const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

export function encodeQ8_0(src: Float32Array): Uint8Array {
  const nb = src.length / QK, out = new Uint8Array(nb * 34);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[b * QK + j]));
    const d = amax / 127, id = d ? 1 / d : 0, h = f32ToF16(d), o = b * 34;
    out[o] = h & 255; out[o + 1] = h >> 8;
    for (let j = 0; j < QK; j++) out[o + 2 + j] = roundAway(src[b * QK + j] * id) & 255;
  }
  return out;
}

export function encodeQ4_0(src: Float32Array): Uint8Array {
  const nb = src.length / QK, out = new Uint8Array(nb * 18);
  for (let b = 0; b < nb; b++) {
    let amax = 0, max = 0;
    for (let j = 0; j < QK; j++) { const v = src[b * QK + j]; if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; } }
    const d = max / -8, id = d ? 1 / d : 0, h = f32ToF16(d), o = b * 18;
    out[o] = h & 255; out[o + 1] = h >> 8;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(Math.fround(src[b * QK + j] * id) + 8.5));
      const q1 = Math.min(15, Math.trunc(Math.fround(src[b * QK + j + 16] * id) + 8.5));
      out[o + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

export function encodeQ4_1(src: Float32Array): Uint8Array {
  const nb = src.length / QK, out = new Uint8Array(nb * 20);
  for (let b = 0; b < nb; b++) {
    let min = Infinity, max = -Infinity;
    for (let j = 0; j < QK; j++) { const v = src[b * QK + j]; min = Math.min(min, v); max = Math.max(max, v); }
    const d = (max - min) / 15, id = d ? 1 / d : 0, o = b * 20;
    const hd = f32ToF16(d), hm = f32ToF16(min);
    out[o] = hd & 255; out[o + 1] = hd >> 8; out[o + 2] = hm & 255; out[o + 3] = hm >> 8;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(Math.fround((src[b * QK + j] - min) * id) + 0.5));
      const q1 = Math.min(15, Math.trunc(Math.fround((src[b * QK + j + 16] - min) * id) + 0.5));
      out[o + 4 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}
