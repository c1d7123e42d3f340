// Runtime formats: how a weight matrix lives in wasm memory and which kernels multiply by it. A row of the type
// table (table.ts) names the format its matrices run in; the loader packs rows into it (from the stored bytes of
// the file's type, or from rows decoded to f32), and the forward pass only calls `prep` / `matmul` / `embed` — it
// never branches on a type. Activation preparation (quantization, lookup tables) is keyed so that matrices
// reading the same input (q/k/v, gate/up) share one; its workspace is carved by one named layout per preparation,
// which the preparation and the products read alike.
import type { Engine } from "../engine/engine.ts";
import type { KernelExports, RangeKernel } from "../engine/kernels.generated.ts";

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

/** A range kernel and its arguments before the range (an executor appends [m0, m1)). */
export interface KernelCall {
  fn: RangeKernel;
  args: number[];
}

/** The parts every prepared input has: activation codes `q` and their scales (byte offsets), and its end. */
export interface PreparedInput {
  readonly q: number;
  readonly scales: number;
  readonly end: number;
}

export interface ActivationPrep {
  /** Matrices whose formats share a key (and group) can share one prepared input. */
  readonly key: string;
  /** The prepared input of T rows of K activations in a workspace at `ws`. */
  layout(ws: number, T: number, K: number, group: number): PreparedInput;
  run(engine: Engine, ws: number, x: number, T: number, K: number, group: number): void;
  /**
   * What the kernels multiply with: `q` holds int8 codes ("i8") or 7-bit ones widened to int16 ("i16"), one f32
   * scale per `scaleGroup` columns (the weight group when absent).
   */
  readonly codes: "i8" | "i16";
  readonly scaleGroup?: number;
}

export interface RuntimeFormat {
  readonly name: string;
  /** What `pack` takes: rows as the stored bytes of the matrix's type, or decoded to f32. */
  readonly input: "stored" | "f32";
  /** Bytes of a packed [rows, cols] matrix. */
  bytes(rows: number, cols: number, group: number): number;
  /** The kernels' own count of those bytes, which `bytes` must equal (the loader sizes memory before a module exists). */
  packedBytes(k: KernelExports, rows: number, cols: number, group: number): number;
  /** Packs rows [r0, r0 + n) given as stored bytes or f32 values (n·cols). */
  pack(engine: Engine, w: Linear, r0: number, n: number, data: Uint8Array | Float32Array): void;
  readonly prep?: ActivationPrep;
  /** The kernel computing out (T, rows) = x (T, cols) · Wᵀ; `ws` holds the prepared x (if the format has a prep). */
  matmul(out: number, x: number, ws: number, w: Linear, T: number): KernelCall;
  /** The same product by the scalar reference kernel (the test oracle), from the packed matrix or its stored rows. */
  reference(out: number, x: number, ws: number, w: Linear, stored: number, T: number): KernelCall;
  /** out (cols) f32 = row `row` of the matrix (embedding look-up); formats without it never hold embeddings. */
  embed?(engine: Engine, out: number, w: Linear, row: number): void;
  /** Row ranges given to matmul start at multiples of this (for splitting across threads). */
  readonly rowAlign: number;
  /** Group sizes it runs must be multiples of this (default 1). */
  readonly groupStep?: number;
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
  input: "f32",
  bytes: (rows, cols) => Math.ceil(rows / 8) * Math.ceil(cols / 4) * 128,
  packedBytes: (k, rows, cols) => k.f32x8_bytes(rows, cols),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.pack_f32x8(w.ptr, s, n, w.cols, r0));
  },
  matmul: (out, x, _ws, w, T) => ({ fn: "matmul_f32", args: [out, x, w.ptr, T, w.cols, w.rows] }),
  reference: (out, x, _ws, w, _stored, T) => ({ fn: "matmul_f32_ref", args: [out, x, w.ptr, T, w.cols, w.rows] }),
  embed(engine, out, w, row) {
    engine.k.unpack_row_f32x8(out, w.ptr, w.cols, row);
  },
  rowAlign: 8,
};

/** 7-bit activations per 32 for q8 weights (assembly/q8.ts). */
const q7Layout = (ws: number, T: number, K: number) => {
  const q = ws;                          // (T, K) i16: codes in [-63, 63]
  const qu = q + align16(T * K * 2);     // (T, K) u8: codes + 64
  const scales = qu + align16(T * K);    // (T, K/32) f32
  return { q, qu, scales, end: scales + T * (K / 32) * 4 };
};

const Q7_PREP: ActivationPrep = {
  key: "q7/32",
  layout: (ws, T, K) => q7Layout(ws, T, K),
  run(engine, ws, x, T, K) {
    const L = q7Layout(ws, T, K);
    engine.k.quantize_act_q7(L.q, L.qu, L.scales, x, T, K);
  },
  codes: "i16",
  scaleGroup: 32,
};

/** int8 weights, one scale per 32 (stored as GGML Q8_0), in 4-row blocks (assembly/q8.ts). */
export const Q8: RuntimeFormat = {
  name: "q8",
  input: "stored",
  bytes: (rows, cols) => Math.ceil(rows / 4) * (cols / 32) * 160,
  packedBytes: (k, rows, cols) => k.q8_bytes(rows, cols),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.q8_pack(w.ptr, s, n, w.cols, r0));
  },
  prep: Q7_PREP,
  matmul(out, _x, ws, w, T) {
    const L = q7Layout(ws, T, w.cols);
    return { fn: "q8_matmul", args: [out, L.q, L.qu, L.scales, w.ptr, T, w.cols, w.rows] };
  },
  reference(out, _x, ws, w, stored, T) {
    const L = q7Layout(ws, T, w.cols);
    return { fn: "q8_matmul_ref", args: [out, L.q, L.scales, stored, T, w.cols, w.rows] };
  },
  embed(engine, out, w, row) {
    engine.k.q8_unpack_row(out, w.ptr, w.cols, row);
  },
  rowAlign: 4,
};

/**
 * 4-bit weights, one scale per 32 (stored as GGML Q4_0), in 4-row blocks (assembly/q4.ts): q8's products on
 * 0.6 of its bytes, for the embeddings and head of 2-bit models (`dbllm quantize --embed q4 --head q4`).
 */
export const Q4: RuntimeFormat = {
  name: "q4",
  input: "stored",
  bytes: (rows, cols) => Math.ceil(rows / 4) * (cols / 32) * 96,
  packedBytes: (k, rows, cols) => k.q4_bytes(rows, cols),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.q4_pack(w.ptr, s, n, w.cols, r0));
  },
  prep: Q7_PREP,
  matmul(out, _x, ws, w, T) {
    const L = q7Layout(ws, T, w.cols);
    return { fn: "q4_matmul", args: [out, L.q, L.qu, L.scales, w.ptr, T, w.cols, w.rows] };
  },
  reference(out, _x, ws, w, stored, T) {
    const L = q7Layout(ws, T, w.cols);
    return { fn: "q4_matmul_ref", args: [out, L.q, L.scales, stored, T, w.cols, w.rows] };
  },
  embed(engine, out, w, row) {
    engine.k.q4_unpack_row(out, w.ptr, w.cols, row);
  },
  rowAlign: 4,
};

/** int8 activations per group with the exact lookup tables (lo/hi nibble sums) of assembly/fdb-lut.ts. */
const lutExactLayout = (ws: number, T: number, K: number, g: number) => {
  const q = ws;                          // (T, K) i8
  const tables = q + align16(T * K);     // (T, K/4, 2 × 16) i8
  const scales = tables + T * K * 8;     // (T, K/g) f32
  return { q, tables, scales, end: scales + T * (K / g) * 4 };
};

/** The fdb2 preparations: int8 activations per group (quantize_act_i8), then what the kernel reads built from them. */
function int8Prep<L extends PreparedInput>(key: string, layout: (ws: number, T: number, K: number, g: number) => L, build: (engine: Engine, L: L, T: number, K: number, g: number) => void): ActivationPrep {
  return {
    key,
    layout,
    run(engine, ws, x, T, K, g) {
      const L = layout(ws, T, K, g);
      engine.k.quantize_act_i8(L.q, L.scales, x, T, K, g);
      build(engine, L, T, K, g);
    },
    codes: "i8",
  };
}

const LUT_EXACT_PREP = int8Prep("fdb-lut-exact", lutExactLayout, (e, L, T, K) => e.k.fdb_build_tables(L.tables, L.q, T, K));

/** The reference of every exact fdb2 product: int8 activations times the stored groups (assembly/fdb-common.ts). */
const fdbReference = (out: number, _x: number, ws: number, w: Linear, stored: number, T: number): KernelCall => {
  const L = w.format.prep!.layout(ws, T, w.cols, w.group);
  return { fn: "fdb_matmul_ref", args: [out, L.q, L.scales, stored, T, w.cols, w.rows, w.group] };
};

/** fdb2 matrices through the exact lookup-table kernel (assembly/fdb-lut.ts: lo/hi nibble tables). */
export const FDB_LUT_EXACT: RuntimeFormat = {
  name: "fdb2-lut-exact",
  input: "stored",
  bytes: (rows, cols, g) => Math.ceil(rows / 16) * (cols / g) * ((g / 8) * 32 + 128),
  packedBytes: (k, rows, cols, g) => k.fdb_lut_bytes(rows, cols, g),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.fdb_pack_lut(w.ptr, s, n, w.cols, w.group, r0, w.rows));
  },
  prep: LUT_EXACT_PREP,
  matmul(out, _x, ws, w, T) {
    const L = lutExactLayout(ws, T, w.cols, w.group);
    return { fn: "fdb_matmul_lut", args: [out, L.tables, L.scales, w.ptr, T, w.cols, w.rows, w.group] };
  },
  reference: fdbReference,
  rowAlign: 16,
};

/** int8 activations per group, then one table per 4 activations, its entries rounded to [-31, 31] per group. */
export const lutLayout = (ws: number, T: number, K: number, g: number) => {
  const q = ws;                                     // (T, K) i8
  const scales = q + align16(T * K);                // (T, K/g) f32: activation scales
  const tables = scales + align16(T * (K / g) * 4); // (T, K/4, 16) i8
  const tscales = tables + T * K * 4;               // (T, K/g) f32: table scales
  return { q, scales, tables, tscales, end: tscales + T * (K / g) * 4 };
};

const LUT_PREP = int8Prep("fdb-lut", lutLayout, (e, L, T, K, g) => e.k.fdb_build_qtables(L.tables, L.tscales, L.q, L.scales, T, K, g));

/**
 * fdb2 matrices through the fast lookup-table kernel (assembly/fdb-lutq.ts): one table per 4 activations, its
 * entries rounded to [-31, 31] per group. About 1.7× the exact kernel's speed; adds a little noise (KERNELS.md).
 * Its reference models that rounding.
 */
export const FDB_LUT: RuntimeFormat = {
  ...FDB_LUT_EXACT,
  name: "fdb2-lut",
  prep: LUT_PREP,
  matmul(out, _x, ws, w, T) {
    const L = lutLayout(ws, T, w.cols, w.group);
    return { fn: "fdb_matmul_lutq", args: [out, L.tables, L.tscales, w.ptr, T, w.cols, w.rows, w.group] };
  },
  reference(out, _x, ws, w, stored, T) {
    const L = lutLayout(ws, T, w.cols, w.group);
    return { fn: "fdb_matmul_lutq_ref", args: [out, L.tables, L.tscales, stored, T, w.cols, w.rows, w.group] };
  },
};

/** int8 activations per group as 8 bit planes of 64-column words (assembly/fdb-popcount.ts). */
const popLayout = (ws: number, T: number, K: number, g: number) => {
  const q = ws;                                         // (T, K) i8
  const planes = q + align16(T * K);                     // (T, ⌈K/128⌉, 8 planes × 2) u64 (fdb_pop_planes_bytes)
  const scales = planes + T * Math.ceil(K / 128) * 128; // (T, K/g) f32
  return { q, planes, scales, end: scales + T * (K / g) * 4 };
};

const POP_PREP = int8Prep("fdb-pop", popLayout, (e, L, T, K) => e.k.fdb_pop_prepare(L.planes, L.q, T, K));

/** fdb2 matrices through the popcount-over-bit-planes kernel (assembly/fdb-popcount.ts); groups of 64 or more. */
export const FDB_POP: RuntimeFormat = {
  name: "fdb2-popcount",
  input: "stored",
  bytes: (rows, cols, g) => rows * (cols / g) * (g / 4 + 8),
  packedBytes: (k, rows, cols, g) => k.fdb_pop_bytes(rows, cols, g),
  pack(engine, w, r0, n, data) {
    withStaged(engine, data, (s) => engine.k.fdb_pack_pop(w.ptr, s, n, w.cols, w.group, r0));
  },
  prep: POP_PREP,
  matmul(out, _x, ws, w, T) {
    const L = popLayout(ws, T, w.cols, w.group);
    return { fn: "fdb_matmul_pop", args: [out, L.planes, L.scales, w.ptr, T, w.cols, w.rows, w.group] };
  },
  reference: fdbReference,
  rowAlign: 1,
  groupStep: 64,
};

/** Bytes of the workspace a prepared input of T rows of K activations takes. */
export const prepBytes = (prep: ActivationPrep, T: number, K: number, group: number): number => prep.layout(0, T, K, group).end;

/** The kernel choice for fdb2 matrices (loadModel's `kernel`); docs/KERNELS.md compares them. */
export type FdbKernel = "auto" | "lut" | "lut-exact" | "popcount";

/** The runtime format of each fdb2 kernel choice ('auto' is the fastest here, 'lut'). */
export const FDB_KERNELS: Readonly<Record<FdbKernel, RuntimeFormat>> = { auto: FDB_LUT, lut: FDB_LUT, "lut-exact": FDB_LUT_EXACT, popcount: FDB_POP };

/**
 * The format an fdb2 matrix of group size g runs in for a kernel choice: the chosen one, except that groups the
 * popcount kernel cannot take (32: it works on 64-column words) go to the exact lookup-table kernel (same numbers).
 */
export function fdbFormat(kernel: FdbKernel, g: number): RuntimeFormat {
  const f = FDB_KERNELS[kernel];
  return g % (f.groupStep ?? 1) === 0 ? f : FDB_LUT_EXACT;
}
