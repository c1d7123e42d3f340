// THE tensor-type table: the one place a tensor type is registered. A row says how the type is laid out in
// files (GGUF id, safetensors dtype, block size and bytes), how to decode it to f32 (the reference), how to
// encode f32 into it (writers), and — for types the kernels execute directly — its runtime row (src/quant/runtime.ts).
// Types without kernels are decoded to f32 while the model streams in.
import { DbllmError } from "../errors.ts";
import { bf16ToF32, f16ToF32Table, f32ToBf16, f32ToF16 } from "./half.ts";
import { decodeQ4_0, decodeQ4_1, decodeQ8_0, encodeQ4_0, encodeQ4_1, encodeQ8_0 } from "./ggml-blocks.ts";

export interface TensorType {
  readonly name: string;
  /** GGML type id in GGUF files. */
  readonly ggml?: number;
  /** dtype name in safetensors headers. */
  readonly safetensors?: string;
  /** Elements per block and bytes per block (1 and element size for plain types). */
  readonly blockSize: number;
  readonly blockBytes: number;
  /** Decodes whole blocks: `dst.length` elements from `src`. Absent: dbllm cannot read this type. */
  readonly decode?: (src: Uint8Array, dst: Float32Array) => void;
  /** Encodes whole blocks of f32. */
  readonly encode?: (src: Float32Array) => Uint8Array;
  /** The floats a block stores (values or scales): checked at load, since one NaN or ±Inf spoils every logit. */
  readonly floats?: FloatFields;
}

/** Floats of one width at fixed byte offsets inside every block (f32: one, at 0; f16/bf16: one or two). */
export interface FloatFields {
  readonly kind: "f32" | "f16" | "bf16";
  readonly at: readonly number[];
}

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

function decodeF32(src: Uint8Array, dst: Float32Array): void {
  if (src.byteOffset % 4 === 0) dst.set(new Float32Array(src.buffer, src.byteOffset, dst.length));
  else new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(src.subarray(0, dst.byteLength));
}

function decodeF16(src: Uint8Array, dst: Float32Array): void {
  const t = f16ToF32Table();
  for (let i = 0; i < dst.length; i++) dst[i] = t[src[2 * i] | (src[2 * i + 1] << 8)];
}

function decodeBF16(src: Uint8Array, dst: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = bf16ToF32(src[2 * i] | (src[2 * i + 1] << 8));
}

function encode16(conv: (v: number) => number) {
  return (src: Float32Array): Uint8Array => {
    const out = new Uint8Array(src.length * 2);
    for (let i = 0; i < src.length; i++) { const h = conv(src[i]); out[2 * i] = h & 255; out[2 * i + 1] = h >> 8; }
    return out;
  };
}

/** Reference decoder of the stored fdb2 layout (assembly/fdb-common.ts): per group b1 bits, b2 bits, α1, α2 (f16). */
function decodeFdb(g: number) {
  return (src: Uint8Array, dst: Float32Array): void => {
    const pb = g / 8, gb = g / 4 + 4, t = f16ToF32Table();
    for (let j = 0; j < dst.length / g; j++) {
      const o = j * gb;
      const a1 = t[src[o + 2 * pb] | (src[o + 2 * pb + 1] << 8)], a2 = t[src[o + 2 * pb + 2] | (src[o + 2 * pb + 3] << 8)];
      for (let i = 0; i < g; i++) {
        const b1 = (src[o + (i >> 3)] >> (i & 7)) & 1, b2 = (src[o + pb + (i >> 3)] >> (i & 7)) & 1;
        dst[j * g + i] = (b1 ? a1 : 0) + (b2 ? a2 : 0);
      }
    }
  };
}

/** The fdb2 types, one per group size (only in .dbllm files, whose metadata names them). */
export const FDB_GROUPS = [32, 64, 128, 256] as const;
const fdbRows: TensorType[] = FDB_GROUPS.map((g) => ({
  name: `FDB2_G${g}`, blockSize: g, blockBytes: g / 4 + 4, decode: decodeFdb(g), floats: { kind: "f16", at: [g / 4, g / 4 + 2] },
}));

const rows: TensorType[] = [
  ...fdbRows,
  { name: "F32", ggml: 0, safetensors: "F32", blockSize: 1, blockBytes: 4, decode: decodeF32, encode: (s) => new Uint8Array(s.slice().buffer), floats: { kind: "f32", at: [0] } },
  { name: "F16", ggml: 1, safetensors: "F16", blockSize: 1, blockBytes: 2, decode: decodeF16, encode: encode16(f32ToF16), floats: { kind: "f16", at: [0] } },
  { name: "BF16", ggml: 30, safetensors: "BF16", blockSize: 1, blockBytes: 2, decode: decodeBF16, encode: encode16(f32ToBf16), floats: { kind: "bf16", at: [0] } },
  // GGML blocks: an f16 scale d first (Q4_1: then an f16 minimum m), see ggml-blocks.ts
  { name: "Q8_0", ggml: 8, blockSize: 32, blockBytes: 34, decode: decodeQ8_0, encode: encodeQ8_0, floats: { kind: "f16", at: [0] } },
  { name: "Q4_0", ggml: 2, blockSize: 32, blockBytes: 18, decode: decodeQ4_0, encode: encodeQ4_0, floats: { kind: "f16", at: [0] } },
  { name: "Q4_1", ggml: 3, blockSize: 32, blockBytes: 20, decode: decodeQ4_1, encode: encodeQ4_1, floats: { kind: "f16", at: [0, 2] } },
  // Known to the parsers (so sizes and error messages are exact) but not decoded.
  { name: "Q5_0", ggml: 6, blockSize: 32, blockBytes: 22 },
  { name: "Q5_1", ggml: 7, blockSize: 32, blockBytes: 24 },
  { name: "Q8_1", ggml: 9, blockSize: 32, blockBytes: 36 },
  { name: "Q2_K", ggml: 10, blockSize: 256, blockBytes: 84 },
  { name: "Q3_K", ggml: 11, blockSize: 256, blockBytes: 110 },
  { name: "Q4_K", ggml: 12, blockSize: 256, blockBytes: 144 },
  { name: "Q5_K", ggml: 13, blockSize: 256, blockBytes: 176 },
  { name: "Q6_K", ggml: 14, blockSize: 256, blockBytes: 210 },
  { name: "Q8_K", ggml: 15, blockSize: 256, blockBytes: 292 },
  { name: "IQ2_XXS", ggml: 16, blockSize: 256, blockBytes: 66 },
  { name: "IQ2_XS", ggml: 17, blockSize: 256, blockBytes: 74 },
  { name: "IQ3_XXS", ggml: 18, blockSize: 256, blockBytes: 98 },
  { name: "IQ1_S", ggml: 19, blockSize: 256, blockBytes: 50 },
  { name: "IQ4_NL", ggml: 20, blockSize: 32, blockBytes: 18 },
  { name: "IQ3_S", ggml: 21, blockSize: 256, blockBytes: 110 },
  { name: "IQ2_S", ggml: 22, blockSize: 256, blockBytes: 82 },
  { name: "IQ4_XS", ggml: 23, blockSize: 256, blockBytes: 136 },
  { name: "I8", ggml: 24, safetensors: "I8", blockSize: 1, blockBytes: 1 },
  { name: "I16", ggml: 25, safetensors: "I16", blockSize: 1, blockBytes: 2 },
  { name: "I32", ggml: 26, safetensors: "I32", blockSize: 1, blockBytes: 4 },
  { name: "I64", ggml: 27, safetensors: "I64", blockSize: 1, blockBytes: 8 },
  { name: "F64", ggml: 28, safetensors: "F64", blockSize: 1, blockBytes: 8 },
  { name: "IQ1_M", ggml: 29, blockSize: 256, blockBytes: 56 },
  { name: "TQ1_0", ggml: 34, blockSize: 256, blockBytes: 54 },
  { name: "TQ2_0", ggml: 35, blockSize: 256, blockBytes: 66 },
  { name: "U8", safetensors: "U8", blockSize: 1, blockBytes: 1 },
  { name: "BOOL", safetensors: "BOOL", blockSize: 1, blockBytes: 1 },
];

const byName = new Map(rows.map((r) => [r.name, r]));
const byGgml = new Map(rows.filter((r) => r.ggml !== undefined).map((r) => [r.ggml!, r]));
const bySafetensors = new Map(rows.filter((r) => r.safetensors).map((r) => [r.safetensors!, r]));

export function typeByName(name: string): TensorType | undefined { return byName.get(name); }
export function typeByGgml(id: number): TensorType | undefined { return byGgml.get(id); }
export function typeBySafetensors(dtype: string): TensorType | undefined { return bySafetensors.get(dtype); }

/** Names of the types dbllm can read, for error messages. */
export function readableTypeNames(): string[] { return rows.filter((r) => r.decode).map((r) => r.name); }

/** Bytes of `elements` elements of `type`; throws when the count is not a whole number of blocks. */
export function tensorBytes(type: TensorType, elements: number, tensorName: string): number {
  if (elements % type.blockSize !== 0) {
    throw new DbllmError("TENSOR_SHAPE", `tensor ${tensorName}: ${elements} elements is not a multiple of the ${type.name} block size ${type.blockSize}`);
  }
  return (elements / type.blockSize) * type.blockBytes;
}

export function requireDecodable(type: TensorType, tensorName: string): Required<Pick<TensorType, "decode">> & TensorType {
  if (!type.decode) {
    throw new DbllmError("UNSUPPORTED_TENSOR_TYPE", `tensor ${tensorName} has type ${type.name}, which dbllm cannot read (readable: ${readableTypeNames().join(", ")})`);
  }
  return type as Required<Pick<TensorType, "decode">> & TensorType;
}
