// Runtime rows of the type table: how a weight matrix lives in wasm memory and which kernels multiply by it.
// The loader asks a format for the bytes a matrix needs and packs rows into it (from decoded f32 rows or from
// the stored bytes of the format's own file type); the forward pass only calls `prepare` / `matmul` / `embed`
// — it never branches on a type. Activation preparation (quantization, lookup tables) is keyed so that
// matrices reading the same input (q/k/v, gate/up) share one.
import type { Engine } from "../engine/engine.ts";
import type { RangeKernel } from "../engine/kernels.generated.ts";
import type { TensorType } from "./table.ts";

export interface Linear {
  readonly format: RuntimeFormat;
  /** Start of the packed weights in wasm memory. */
  readonly ptr: number;
  /** Output features (M) and input features (K). */
  readonly rows: number;
  readonly cols: number;
  /** Quantization group size along K (0 when the format has none). */
  readonly group: number;
  /** f32 bias of `rows` elements, 0 when absent. */
  bias: number;
}

export interface ActivationPrep {
  /** Matrices whose formats share a key (and group) can share one prepared input. */
  readonly key: string;
  bytes(T: number, K: number, group: number): number;
  run(engine: Engine, ws: number, x: number, T: number, K: number, group: number): void;
}

export interface RuntimeFormat {
  readonly name: string;
  /** How rows of a stored tensor type reach `pack`: as their raw bytes, as decoded f32, or not at all. */
  accepts(type: TensorType): "raw" | "f32" | undefined;
  /** Bytes of a packed [rows, cols] matrix. */
  bytes(rows: number, cols: number, group: number): number;
  /** Packs rows [r0, r0 + n) given as raw stored bytes or f32 values (n·cols). */
  pack(engine: Engine, w: Linear, r0: number, n: number, data: Uint8Array | Float32Array): void;
  readonly prep?: ActivationPrep;
  /**
   * The kernel computing out (T, rows) = x (T, cols) · Wᵀ; it is called with `args` followed by an output row
   * range [m0, m1). `ws` holds the prepared x (if the format has a prep).
   */
  matmul(out: number, x: number, ws: number, w: Linear, T: number): { fn: RangeKernel; args: number[] };
  /** out (cols) f32 = row `row` of the matrix (embedding look-up). */
  embed(engine: Engine, out: number, w: Linear, row: number): void;
  /** Row ranges given to matmul start at multiples of this (for splitting across threads). */
  readonly rowAlign: number;
}

/** Copies `src` into a temporary wasm buffer for the duration of `fn`. */
export function withStaged<T>(engine: Engine, src: Uint8Array | Float32Array, fn: (ptr: number) => T): T {
  const ptr = engine.arena.alloc(src.byteLength, "staging");
  try {
    engine.u8(ptr, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return fn(ptr);
  } finally {
    engine.arena.dealloc(ptr);
  }
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** f32 weights in 8-row interleaved blocks (assembly/matmul-f32.ts explains the layout). */
export const F32: RuntimeFormat = {
  name: "f32",
  accepts: (type) => (type.decode ? "f32" : undefined),
  bytes: (rows, cols) => Math.ceil(rows / 8) * Math.ceil(cols / 4) * 128,
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.pack_f32x8(w.ptr, s, n, w.cols, r0));
  },
  matmul: (out, x, _ws, w, T) => ({ fn: "matmul_f32", args: [out, x, w.ptr, T, w.cols, w.rows] }),
  embed(engine, out, w, row) {
    engine.k.unpack_row_f32x8(out, w.ptr, w.cols, row);
  },
  rowAlign: 8,
};

/** 7-bit activations per 32 for q8 weights (assembly/q8.ts): [q as i16 (T·K·2)] [q + 64 as u8 (T·K)] [scales]. */
const Q7_PREP: ActivationPrep = {
  key: "q7/32",
  bytes: (T, K) => align16(T * K * 2) + align16(T * K) + T * (K / 32) * 4,
  run(engine, ws, x, T, K) {
    const qu = ws + align16(T * K * 2);
    engine.k.quantize_act_q7(ws, qu, qu + align16(T * K), x, T, K);
  },
};

/** int8 weights, one scale per 32 (stored as GGML Q8_0), in 4-row blocks (assembly/q8.ts). */
export const Q8: RuntimeFormat = {
  name: "q8",
  accepts: (type) => (type.name === "Q8_0" ? "raw" : undefined),
  bytes: (rows, cols) => Math.ceil(rows / 4) * (cols / 32) * 160,
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.q8_pack(w.ptr, s, n, w.cols, r0));
  },
  prep: Q7_PREP,
  matmul(out, _x, ws, w, T) {
    const qu = ws + align16(T * w.cols * 2);
    return { fn: "q8_matmul", args: [out, ws, qu, qu + align16(T * w.cols), w.ptr, T, w.cols, w.rows] };
  },
  embed(engine, out, w, row) {
    engine.k.q8_unpack_row(out, w.ptr, w.cols, row);
  },
  rowAlign: 4,
};

/** Prepared input of the exact lookup-table kernel: [q (T·K)] [tables (T·K·8)] [scales (T·K/g·4)]. */
const LUT_EXACT_PREP: ActivationPrep = {
  key: "fdb-lut-exact",
  bytes: (T, K, g) => align16(T * K) + T * K * 8 + T * (K / g) * 4,
  run(engine, ws, x, T, K, g) {
    const tables = ws + align16(T * K), scales = tables + T * K * 8;
    engine.k.quantize_act_i8(ws, scales, x, T, K, g);
    engine.k.fdb_build_tables(tables, ws, T, K);
  },
};

export const isFdb = (type: TensorType) => type.name.startsWith("FDB2_G");

const noEmbed = () => { throw new Error("internal: fdb2 matrices are not used as embeddings"); };

/** fdb2 matrices through the exact lookup-table kernel (assembly/fdb-lut.ts: lo/hi nibble tables). */
export const FDB_LUT_EXACT: RuntimeFormat = {
  name: "fdb2-lut-exact",
  accepts: (type) => (isFdb(type) ? "raw" : undefined),
  bytes: (rows, cols, g) => Math.ceil(rows / 16) * (cols / g) * ((g / 8) * 32 + 128),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.fdb_pack_lut(w.ptr, s, n, w.cols, w.group, r0));
  },
  prep: LUT_EXACT_PREP,
  matmul(out, _x, ws, w, T) {
    const K = w.cols, tables = ws + align16(T * K), scales = tables + T * K * 8;
    return { fn: "fdb_matmul_lut", args: [out, tables, scales, w.ptr, T, K, w.rows, w.group] };
  },
  embed: noEmbed,
  rowAlign: 16,
};

/**
 * Prepared input of the fast lookup-table kernel: [q (T·K)] [activation scales (T·K/g·4)] [tables (T·K·4)]
 * [table scales (T·K/g·4)].
 */
const LUT_PREP: ActivationPrep = {
  key: "fdb-lut",
  bytes: (T, K, g) => align16(T * K) + align16(T * (K / g) * 4) + T * K * 4 + T * (K / g) * 4,
  run(engine, ws, x, T, K, g) {
    const ascales = ws + align16(T * K), tables = ascales + align16(T * (K / g) * 4), tscales = tables + T * K * 4;
    engine.k.quantize_act_i8(ws, ascales, x, T, K, g);
    engine.k.fdb_build_qtables(tables, tscales, ws, ascales, T, K, g);
  },
};

/**
 * fdb2 matrices through the fast lookup-table kernel (assembly/fdb-lutq.ts): one table per 4 activations, its
 * entries rounded to [-31, 31] per group. About 1.7× the exact kernel's speed; adds a little noise (KERNELS.md).
 */
export const FDB_LUT: RuntimeFormat = {
  ...FDB_LUT_EXACT,
  name: "fdb2-lut",
  prep: LUT_PREP,
  matmul(out, _x, ws, w, T) {
    const K = w.cols, g = w.group;
    const tables = ws + align16(T * K) + align16(T * (K / g) * 4), tscales = tables + T * K * 4;
    return { fn: "fdb_matmul_lutq", args: [out, tables, tscales, w.ptr, T, K, w.rows, g] };
  },
};

/** Prepared input of the popcount kernel: [q (T·K)] [bit planes] [scales (T·K/g·4)]. */
const planesBytes = (T: number, K: number) => T * Math.ceil(K / 128) * 128;
const POP_PREP: ActivationPrep = {
  key: "fdb-pop",
  bytes: (T, K, g) => align16(T * K) + planesBytes(T, K) + T * (K / g) * 4,
  run(engine, ws, x, T, K, g) {
    const planes = ws + align16(T * K), scales = planes + planesBytes(T, K);
    engine.k.quantize_act_i8(ws, scales, x, T, K, g);
    engine.k.fdb_pop_prepare(planes, ws, T, K);
  },
};

/** fdb2 matrices through the popcount-over-bit-planes kernel (assembly/fdb-popcount.ts); groups of 64 or more. */
export const FDB_POP: RuntimeFormat = {
  name: "fdb2-popcount",
  accepts: (type) => (isFdb(type) && type.blockSize % 64 === 0 ? "raw" : undefined),
  bytes: (rows, cols, g) => rows * (cols / g) * (g / 4 + 8),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.fdb_pack_pop(w.ptr, s, n, w.cols, w.group, r0));
  },
  prep: POP_PREP,
  matmul(out, _x, ws, w, T) {
    const K = w.cols, planes = ws + align16(T * K), scales = planes + planesBytes(T, K);
    return { fn: "fdb_matmul_pop", args: [out, planes, scales, w.ptr, T, K, w.rows, w.group] };
  },
  embed: noEmbed,
  rowAlign: 1,
};
