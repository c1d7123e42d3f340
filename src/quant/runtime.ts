// Runtime rows of the type table: how a weight matrix lives in wasm memory and which kernels multiply by it.
// The loader asks a format for the bytes a [rows, cols] matrix needs, fills them from f32 rows (`pack`), and
// the forward pass only ever calls `matmul` / `embed` — it never branches on a type.
import type { Engine } from "../engine/engine.ts";

export interface Linear {
  readonly format: RuntimeFormat;
  /** Start of the packed weights in wasm memory. */
  readonly ptr: number;
  /** Output features (M) and input features (K). */
  readonly rows: number;
  readonly cols: number;
  /** f32 bias of `rows` elements, 0 when absent. */
  bias: number;
}

export interface RuntimeFormat {
  readonly name: string;
  /** Bytes of a packed [rows, cols] matrix. */
  bytes(rows: number, cols: number): number;
  /** Packs f32 rows [r0, r0 + n) (`src` holds n·cols values) into the matrix at `ptr`. */
  pack(engine: Engine, ptr: number, rows: number, cols: number, r0: number, src: Float32Array): void;
  /** out (T, rows) = x (T, cols) · Wᵀ for output rows [m0, m1). */
  matmul(engine: Engine, out: number, x: number, w: Linear, T: number, m0: number, m1: number): void;
  /** out (cols) f32 = row `row` of the matrix (embedding look-up). */
  embed(engine: Engine, out: number, w: Linear, row: number): void;
}

/** Copies `src` into a temporary wasm buffer for the duration of `fn`. */
export function withStaged<T>(engine: Engine, src: Float32Array, fn: (ptr: number) => T): T {
  const ptr = engine.arena.alloc(src.byteLength, "staging");
  try {
    engine.f32(ptr, src.length).set(src);
    return fn(ptr);
  } finally {
    engine.arena.dealloc(ptr);
  }
}

/** f32 weights in 8-row interleaved blocks (assembly/matmul-f32.ts explains the layout). */
export const F32: RuntimeFormat = {
  name: "f32",
  bytes: (rows, cols) => Math.ceil(rows / 8) * Math.ceil(cols / 4) * 128,
  pack(engine, ptr, _rows, cols, r0, src) {
    withStaged(engine, src, (s) => engine.k.pack_f32x8(ptr, s, src.length / cols, cols, r0));
  },
  matmul(engine, out, x, w, T, m0, m1) {
    engine.k.matmul_f32(out, x, w.ptr, T, w.cols, w.rows, m0, m1);
  },
  embed(engine, out, w, row) {
    engine.k.unpack_row_f32x8(out, w.ptr, w.cols, row);
  },
};
