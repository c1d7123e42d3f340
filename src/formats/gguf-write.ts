// GGUF writer (version 3). Used to build test and benchmark models that llama.cpp can load, and by converters.
// Values carry their GGUF type explicitly (`meta.u32(...)`), because JS numbers do not say which integer type
// llama.cpp expects for a key.
import { invalidArgument } from "../errors.ts";
import type { TensorType } from "../quant/table.ts";
import { GGUF_MAGIC, GGUFValueType as T, type GGUFFile } from "./gguf.ts";

export type GGUFTypedValue =
  | { type: T.UINT8 | T.INT8 | T.UINT16 | T.INT16 | T.UINT32 | T.INT32 | T.FLOAT32 | T.FLOAT64 | T.UINT64 | T.INT64; value: number }
  | { type: T.BOOL; value: boolean }
  | { type: T.STRING; value: string }
  | { type: T.ARRAY; elementType: T; value: ArrayLike<number> | string[] | boolean[] };

export const meta = {
  u32: (value: number): GGUFTypedValue => ({ type: T.UINT32, value }),
  i32: (value: number): GGUFTypedValue => ({ type: T.INT32, value }),
  u64: (value: number): GGUFTypedValue => ({ type: T.UINT64, value }),
  f32: (value: number): GGUFTypedValue => ({ type: T.FLOAT32, value }),
  bool: (value: boolean): GGUFTypedValue => ({ type: T.BOOL, value }),
  str: (value: string): GGUFTypedValue => ({ type: T.STRING, value }),
  strings: (value: string[]): GGUFTypedValue => ({ type: T.ARRAY, elementType: T.STRING, value }),
  f32s: (value: ArrayLike<number>): GGUFTypedValue => ({ type: T.ARRAY, elementType: T.FLOAT32, value }),
  i32s: (value: ArrayLike<number>): GGUFTypedValue => ({ type: T.ARRAY, elementType: T.INT32, value }),
};

/** Re-types metadata read by readGGUF so that writeGGUF reproduces it (nested arrays are not supported). */
export function typedMetadata(file: GGUFFile, keep: (key: string) => boolean = () => true): Record<string, GGUFTypedValue> {
  const out: Record<string, GGUFTypedValue> = {};
  for (const [key, value] of file.metadata) {
    if (!keep(key)) continue;
    const t = file.metadataTypes.get(key)!;
    if (t.type === T.ARRAY) {
      if (t.elementType === T.ARRAY) throw invalidArgument(`cannot re-write nested array ${key}`);
      out[key] = { type: T.ARRAY, elementType: t.elementType!, value: value as ArrayLike<number> | string[] | boolean[] };
    } else out[key] = { type: t.type, value: typeof value === "bigint" ? Number(value) : value } as GGUFTypedValue;
  }
  return out;
}

export interface GGUFTensorOut {
  name: string;
  type: TensorType;
  /** Outermost first (PyTorch order); written reversed as GGUF's ne. */
  shape: number[];
  /** Encoded bytes, or a function producing them when the writer reaches this tensor. */
  data: Uint8Array | (() => Uint8Array);
}

const enc = new TextEncoder();

class Out {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private n = 0;
  length = 0;
  private room(k: number) {
    if (this.n + k > this.buf.length) {
      this.flush();
      if (k > this.buf.length) { this.buf = new Uint8Array(k); this.view = new DataView(this.buf.buffer); }
    }
  }
  flush() { if (this.n) { this.chunks.push(this.buf.slice(0, this.n)); this.n = 0; } }
  take(): Uint8Array[] { this.flush(); const c = this.chunks; this.chunks = []; return c; }
  u8(v: number) { this.room(1); this.view.setUint8(this.n, v); this.n += 1; this.length += 1; }
  u32(v: number) { this.room(4); this.view.setUint32(this.n, v, true); this.n += 4; this.length += 4; }
  u64(v: number) { this.room(8); this.view.setBigUint64(this.n, BigInt(v), true); this.n += 8; this.length += 8; }
  bytes(b: Uint8Array) { this.flush(); this.chunks.push(b); this.length += b.byteLength; }
  str(s: string) { const b = enc.encode(s); this.u64(b.length); this.bytes(b); }
  scalar(type: T, v: number | boolean | string) {
    const sizes: Record<number, number> = { [T.UINT8]: 1, [T.INT8]: 1, [T.UINT16]: 2, [T.INT16]: 2, [T.UINT32]: 4, [T.INT32]: 4, [T.FLOAT32]: 4, [T.BOOL]: 1, [T.UINT64]: 8, [T.INT64]: 8, [T.FLOAT64]: 8 };
    if (type === T.STRING) return this.str(v as string);
    const k = sizes[type];
    this.room(k);
    const d = this.view, o = this.n;
    switch (type) {
      case T.UINT8: d.setUint8(o, v as number); break;
      case T.INT8: d.setInt8(o, v as number); break;
      case T.UINT16: d.setUint16(o, v as number, true); break;
      case T.INT16: d.setInt16(o, v as number, true); break;
      case T.UINT32: d.setUint32(o, v as number, true); break;
      case T.INT32: d.setInt32(o, v as number, true); break;
      case T.FLOAT32: d.setFloat32(o, v as number, true); break;
      case T.BOOL: d.setUint8(o, v ? 1 : 0); break;
      case T.UINT64: d.setBigUint64(o, BigInt(v as number), true); break;
      case T.INT64: d.setBigInt64(o, BigInt(v as number), true); break;
      case T.FLOAT64: d.setFloat64(o, v as number, true); break;
      default: throw invalidArgument(`cannot write GGUF value type ${type}`);
    }
    this.n += k; this.length += k;
  }
}

/**
 * Yields the file as chunks: header, then each tensor's data padded to the alignment. Tensor data produced by
 * functions is requested one tensor at a time, so a large model never sits in memory whole.
 */
export function* writeGGUF(metadata: Record<string, GGUFTypedValue>, tensors: GGUFTensorOut[], alignment = 32): Generator<Uint8Array> {
  const o = new Out();
  o.u32(GGUF_MAGIC);
  o.u32(3);
  o.u64(tensors.length);
  const entries = Object.entries(metadata);
  if (alignment !== 32 && !("general.alignment" in metadata)) entries.push(["general.alignment", meta.u32(alignment)]);
  o.u64(entries.length);
  for (const [key, v] of entries) {
    o.str(key);
    o.u32(v.type);
    if (v.type === T.ARRAY) {
      o.u32(v.elementType);
      o.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) o.scalar(v.elementType, (v.value as ArrayLike<number | string | boolean>)[i]);
    } else o.scalar(v.type, v.value);
  }
  let rel = 0;
  const sizes = tensors.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    return (n / t.type.blockSize) * t.type.blockBytes;
  });
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    o.str(t.name);
    o.u32(t.shape.length);
    for (const d of t.shape.slice().reverse()) o.u64(d);
    if (t.type.ggml === undefined) throw invalidArgument(`type ${t.type.name} has no GGUF id`);
    o.u32(t.type.ggml);
    o.u64(rel);
    rel += Math.ceil(sizes[i] / alignment) * alignment;
  }
  const pad = (n: number) => { const p = (alignment - (n % alignment)) % alignment; if (p) o.bytes(new Uint8Array(p)); };
  pad(o.length);
  yield* o.take();
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    const data = typeof t.data === "function" ? t.data() : t.data;
    if (data.byteLength !== sizes[i]) throw invalidArgument(`tensor ${t.name}: ${data.byteLength} bytes given, ${sizes[i]} expected`);
    o.bytes(data);
    pad(data.byteLength);
    yield* o.take();
  }
}
