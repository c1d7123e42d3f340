// The kernel module's exports as TypeScript sees them (assembly/index.ts). Pointers are byte offsets into the
// engine's linear memory; argument order is outputs, inputs, weights, sizes — as in the AssemblyScript sources.
export interface KernelExports {
  heap_base(): number;
  relaxed_simd(): number;
  matmul_f32(out: number, x: number, w: number, T: number, K: number, M: number, m0: number, m1: number): void;
  matmul_f32_ref(out: number, x: number, w: number, T: number, K: number, M: number, m0: number, m1: number): void;
  f32x8_bytes(M: number, K: number): number;
  pack_f32x8(w: number, src: number, n: number, K: number, r0: number): void;
  unpack_row_f32x8(out: number, w: number, K: number, row: number): void;
  rmsnorm(out: number, x: number, w: number, rows: number, n: number, eps: number): void;
  rmsnorm_ref(out: number, x: number, w: number, rows: number, n: number, eps: number): void;
  rope(x: number, cos: number, sin: number, T: number, heads: number, headDim: number, rot: number, neox: number): void;
  rope_ref(x: number, cos: number, sin: number, T: number, heads: number, headDim: number, rot: number, neox: number): void;
  add(out: number, x: number, n: number): void;
  add_ref(out: number, x: number, n: number): void;
  add_rows(out: number, bias: number, rows: number, n: number): void;
  silu_mul(out: number, gate: number, up: number, n: number): void;
  silu_mul_ref(out: number, gate: number, up: number, n: number): void;
  attention(out: number, q: number, kc: number, vc: number, scores: number, T: number, pos0: number, heads: number, kvHeads: number, headDim: number, window: number, scale: number, h0: number, h1: number): void;
  quantize_act_i8(q: number, scales: number, x: number, T: number, K: number, g: number): void;
  fdb_matmul_ref(out: number, q: number, scales: number, w: number, T: number, K: number, M: number, g: number, m0: number, m1: number): void;
  fdb_lut_bytes(M: number, K: number, g: number): number;
  fdb_pack_lut(w: number, src: number, n: number, K: number, g: number, r0: number): void;
  fdb_build_tables(tables: number, q: number, T: number, K: number): void;
  fdb_matmul_lut(out: number, tables: number, scales: number, w: number, T: number, K: number, M: number, g: number, m0: number, m1: number): void;
  fdb_build_qtables(tables: number, tscales: number, q: number, ascales: number, T: number, K: number, g: number): void;
  fdb_matmul_lutq(out: number, tables: number, tscales: number, w: number, T: number, K: number, M: number, g: number, m0: number, m1: number): void;
  fdb_matmul_lutq_ref(out: number, tables: number, tscales: number, w: number, T: number, K: number, M: number, g: number, m0: number, m1: number): void;
  fdb_pop_bytes(M: number, K: number, g: number): number;
  fdb_pop_planes_bytes(T: number, K: number): number;
  fdb_pack_pop(w: number, src: number, n: number, K: number, g: number, r0: number): void;
  fdb_pop_prepare(planes: number, q: number, T: number, K: number): void;
  fdb_matmul_pop(out: number, planes: number, scales: number, w: number, T: number, K: number, M: number, g: number, m0: number, m1: number): void;
  fdb_matmul_pop_simd(out: number, planes: number, scales: number, w: number, T: number, K: number, M: number, g: number, m0: number, m1: number): void;
  q8_bytes(M: number, K: number): number;
  q8_pack(w: number, src: number, n: number, K: number, r0: number): void;
  q8_unpack_row(out: number, w: number, K: number, row: number): void;
  quantize_act_q7(q: number, qu: number, scales: number, x: number, T: number, K: number): void;
  q8_matmul(out: number, q: number, qu: number, scales: number, w: number, T: number, K: number, M: number, m0: number, m1: number): void;
  q8_matmul_ref(out: number, q: number, scales: number, w: number, T: number, K: number, M: number, m0: number, m1: number): void;
  attention_ref(out: number, q: number, kc: number, vc: number, scores: number, T: number, pos0: number, heads: number, kvHeads: number, headDim: number, window: number, scale: number, h0: number, h1: number): void;
}
