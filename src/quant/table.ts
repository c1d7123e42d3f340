// THE tensor-type table: the one place a tensor type is registered. A row says how the type is laid out in
// files (GGUF id, safetensors dtype, block size and bytes), how to decode it to f32 (the reference), how to
// encode f32 into it (writers, the quantizer), which of its bytes are floats (checked at load), and — for types
// the kernels execute directly — the runtime format its matrices run in (runtime.ts). Types without one are
// decoded to f32 while the model streams in. tests/type-table.test.ts checks every row.
import { DbllmError } from "../errors.ts";
import { decodeFdb, encodeFdb, fdbGroupBytes, type FitOptions } from "./fdb-codec.ts";
import { decodeQ4_0, decodeQ4_1, decodeQ8_0, encodeQ4_0, encodeQ4_1, encodeQ8_0 } from "./ggml-blocks.ts";
import { bf16ToF32, f16ToF32Table, f32ToBf16, f32ToF16 } from "./half.ts";
import { F32, fdbFormat, Q4, Q8, type FdbKernel, type RuntimeFormat } from "./runtime.ts";

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
  /** Encodes whole blocks of f32 (whole rows where `fit` weighs columns: fdb2 fits each group to its weights). */
  readonly encode?: (src: Float32Array, fit?: FitOptions) => Uint8Array;
  /** The floats a block stores (values or scales): checked at load, since one NaN or ±Inf spoils every logit. */
  readonly floats?: FloatFields;
  /** The runtime format the kernels run matrices of this type in, by fdb kernel choice; absent: decoded to f32. */
  readonly runtime?: (kernel: FdbKernel) => RuntimeChoice;
}

/** A runtime format and the quantization group along K it runs with (0: none). */
export interface RuntimeChoice {
  readonly format: RuntimeFormat;
  readonly group: number;
}

/** Floats of one width at fixed byte offsets inside every block (f32: one, at 0; f16/bf16: one or two). */
export interface FloatFields {
  readonly kind: "f32" | "f16" | "bf16";
  readonly at: readonly number[];
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

/** The fdb2 types, one per group size (only in .dbllm files, whose metadata names them). */
export const FDB_GROUPS = [32, 64, 128, 256] as const;
const fdbRows: TensorType[] = FDB_GROUPS.map((g) => ({
  name: `FDB2_G${g}`, blockSize: g, blockBytes: fdbGroupBytes(g), decode: decodeFdb(g), encode: encodeFdb(g),
  floats: { kind: "f16", at: [g / 4, g / 4 + 2] }, runtime: (kernel) => ({ format: fdbFormat(kernel, g), group: g }),
}));

const Q8_RUNTIME: RuntimeChoice = { format: Q8, group: 32 };
const Q4_RUNTIME: RuntimeChoice = { format: Q4, group: 32 };
/** What every other readable type runs as: rows decoded to f32 at load. */
const DECODED: RuntimeChoice = { format: F32, group: 0 };

const rows: TensorType[] = [
  ...fdbRows,
  { name: "F32", ggml: 0, safetensors: "F32", blockSize: 1, blockBytes: 4, decode: decodeF32, encode: (s) => new Uint8Array(s.slice().buffer), floats: { kind: "f32", at: [0] } },
  { name: "F16", ggml: 1, safetensors: "F16", blockSize: 1, blockBytes: 2, decode: decodeF16, encode: encode16(f32ToF16), floats: { kind: "f16", at: [0] } },
  { name: "BF16", ggml: 30, safetensors: "BF16", blockSize: 1, blockBytes: 2, decode: decodeBF16, encode: encode16(f32ToBf16), floats: { kind: "bf16", at: [0] } },
  // GGML blocks: an f16 scale d first (Q4_1: then an f16 minimum m), see ggml-blocks.ts
  { name: "Q8_0", ggml: 8, blockSize: 32, blockBytes: 34, decode: decodeQ8_0, encode: encodeQ8_0, floats: { kind: "f16", at: [0] }, runtime: () => Q8_RUNTIME },
  { name: "Q4_0", ggml: 2, blockSize: 32, blockBytes: 18, decode: decodeQ4_0, encode: encodeQ4_0, floats: { kind: "f16", at: [0] }, runtime: () => Q4_RUNTIME },
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

/** Every row, for tests that check them all. */
export const TYPE_ROWS: readonly TensorType[] = rows;

const byName = new Map(rows.map((r) => [r.name, r]));
const byGgml = new Map(rows.filter((r) => r.ggml !== undefined).map((r) => [r.ggml!, r]));
const bySafetensors = new Map(rows.filter((r) => r.safetensors).map((r) => [r.safetensors!, r]));

export function typeByName(name: string): TensorType | undefined { return byName.get(name); }
export function typeByGgml(id: number): TensorType | undefined { return byGgml.get(id); }
export function typeBySafetensors(dtype: string): TensorType | undefined { return bySafetensors.get(dtype); }
/** The fdb2 row of group size g. */
export function fdbType(g: (typeof FDB_GROUPS)[number]): TensorType { return byName.get(`FDB2_G${g}`)!; }

/** Names of the types dbllm can read, for error messages. */
export function readableTypeNames(): string[] { return rows.filter((r) => r.decode).map((r) => r.name); }

/** Bytes of `elements` elements of `type`; throws when the count is not a whole number of blocks. */
export function tensorBytes(type: TensorType, elements: number, tensorName: string): number {
  if (elements % type.blockSize !== 0) {
    throw new DbllmError("TENSOR_SHAPE", `tensor ${tensorName}: ${elements} elements is not a multiple of the ${type.name} block size ${type.blockSize}`);
  }
  return (elements / type.blockSize) * type.blockBytes;
}

/** The error for a tensor whose type dbllm cannot read: one it has a row for but no decoder, or one it does not know. */
export function unreadableType(tensorName: string, typeName: string): DbllmError {
  return new DbllmError("UNSUPPORTED_TENSOR_TYPE", `tensor ${tensorName} has type ${typeName}, which dbllm cannot read (readable: ${readableTypeNames().join(", ")})`);
}

export function requireDecodable(type: TensorType, tensorName: string): Required<Pick<TensorType, "decode">> & TensorType {
  if (!type.decode) throw unreadableType(tensorName, type.name);
  return type as Required<Pick<TensorType, "decode">> & TensorType;
}

/**
 * How a stored matrix runs: in its row's runtime format when the row has one that serves the use (an embedding
 * needs row look-ups, which not every format has), else decoded to f32 — or an UNSUPPORTED_TENSOR_TYPE error when
 * the type cannot even be decoded.
 */
export function runtimeFor(type: TensorType, kernel: FdbKernel, use: "matrix" | "embedding", tensorName: string): RuntimeChoice {
  const own = type.runtime?.(kernel);
  if (own && (use === "matrix" || own.format.embed)) return own;
  requireDecodable(type, tensorName);
  return DECODED;
}
