// The wasm module's exports: pure kernels over pointers into the host-owned (imported) linear memory.
// Every kernel has a scalar `_ref` twin that tests use as the oracle.
export { matmul_f32, matmul_f32_ref, pack_f32x8, unpack_row_f32x8, f32x8_bytes } from "./matmul-f32";
export { rmsnorm, rmsnorm_ref } from "./norm";
export { rope, rope_ref } from "./rope";
export { add, add_ref, add_rows, silu_mul, silu_mul_ref } from "./elementwise";
export { attention, attention_ref } from "./attention";
export { quantize_act_i8, fdb_matmul_ref } from "./fdb-common";
export { fdb_lut_bytes, fdb_pack_lut, fdb_build_tables, fdb_matmul_lut } from "./fdb-lut";
export { fdb_build_qtables, fdb_matmul_lutq, fdb_matmul_lutq_ref } from "./fdb-lutq";
export { fdb_pop_bytes, fdb_pop_planes_bytes, fdb_pack_pop, fdb_pop_prepare, fdb_matmul_pop, fdb_matmul_pop_simd } from "./fdb-popcount";
export { q8_bytes, q8_pack, q8_unpack_row, quantize_act_q7, q8_matmul, q8_matmul_ref } from "./q8";
export { q4_bytes, q4_pack, q4_unpack_row, q4_matmul, q4_matmul_ref } from "./q4";

/** First byte of linear memory the host may use (after this module's static data). */
export function heap_base(): usize { return __heap_base; }

/** 1 when compiled with relaxed SIMD, so the host can report what it runs. */
export function relaxed_simd(): i32 { return ASC_FEATURE_RELAXED_SIMD ? 1 : 0; }
