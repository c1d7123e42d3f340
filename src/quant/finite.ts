// The load-time check of stored floats: one NaN or ±Inf among a tensor's values or block scales spoils every
// logit, so every tensor read is scanned — at the speed of a memory scan, reading only the exponent bits of the
// float fields its type declares (TensorType.floats).
import type { TensorType } from "./table.ts";

/** Exponent bits of each float kind: all set means ±Inf or NaN. */
const EXPONENT = { f32: 0x7f800000, f16: 0x7c00, bf16: 0x7f80 } as const;

/**
 * Index of the first block of `src` (whole blocks of `type`) that stores a NaN or ±Inf, or -1. Reads only the
 * exponent bits of the fields the type declares: one pass over the values of f32/f16/bf16 tensors (32-bit
 * words, two 16-bit values per word, four words per step) and over the scales alone of quantized ones.
 */
export function firstNonFiniteBlock(type: TensorType, src: Uint8Array): number {
  const f = type.floats;
  if (!f) return -1;
  const mask = EXPONENT[f.kind], B = type.blockBytes, blocks = Math.floor(src.byteLength / B);
  if (f.at.length === 1 && f.at[0] === 0 && B === (f.kind === "f32" ? 4 : 2)) { // every element is a float
    const bytes = src.byteOffset % 4 === 0 ? src : src.slice(); // a word view needs 4-byte alignment
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    if (f.kind === "f32") return firstAllSet(words, mask);
    const w = firstAllSetLane(words, (mask | (mask << 16)) >>> 0);
    if (w >= 0) return (words[w] & mask) === mask ? 2 * w : 2 * w + 1;
    const last = blocks - 1; // an odd count leaves one value after the last word
    return blocks % 2 === 1 && ((src[2 * last] | (src[2 * last + 1] << 8)) & mask) === mask ? last : -1;
  }
  const [a, b] = f.at; // one or two 16-bit fields per block
  for (let i = 0, o = 0; i < blocks; i++, o += B) {
    if (((src[o + a] | (src[o + a + 1] << 8)) & mask) === mask) return i;
    if (b !== undefined && ((src[o + b] | (src[o + b + 1] << 8)) & mask) === mask) return i;
  }
  return -1;
}

/** First word whose bits under `mask` are all set, or -1 (four words a step: about twice as fast as one). */
function firstAllSet(w: Uint32Array, mask: number): number {
  const n = w.length, end = n - (n % 4);
  let i = 0;
  for (; i < end; i += 4) {
    if ((w[i] & mask) === mask || (w[i + 1] & mask) === mask || (w[i + 2] & mask) === mask || (w[i + 3] & mask) === mask) break;
  }
  for (; i < n; i++) if ((w[i] & mask) === mask) return i;
  return -1;
}

/**
 * First word in which either 16-bit half has all its bits under `mask` (set in both halves) set, or -1. Per
 * half, x = (w & mask) ^ mask has a zero lane, which (x - 0x10001) & ~x & 0x80008000 finds (lanes have a clear
 * top bit; a borrow out of the low lane only happens when that lane is zero, a hit anyway).
 */
function firstAllSetLane(w: Uint32Array, mask: number): number {
  const n = w.length, end = n - (n % 4);
  let i = 0;
  for (; i < end; i += 4) {
    const a = (w[i] & mask) ^ mask, b = (w[i + 1] & mask) ^ mask, c = (w[i + 2] & mask) ^ mask, d = (w[i + 3] & mask) ^ mask;
    if ((((a - 0x00010001) & ~a) | ((b - 0x00010001) & ~b) | ((c - 0x00010001) & ~c) | ((d - 0x00010001) & ~d)) & 0x80008000) break;
  }
  for (; i < n; i++) {
    const x = (w[i] & mask) ^ mask;
    if (((x - 0x00010001) & ~x & 0x80008000) !== 0) return i;
  }
  return -1;
}
