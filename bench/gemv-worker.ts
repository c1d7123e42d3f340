// GEMV kernels in one process (one kernel build): GOPS = 2·M·K / time for T = 1 on M×K matrices, "hot" (one
// matrix repeated, in cache) and "cold" (cycling through copies larger than the L3 cache), each kernel including
// its activation preparation. Prints one JSON line. Used by bench/gemv.ts.
import { Engine } from "../src/engine/engine.ts";
import { encodeQ8_0 } from "../src/quant/ggml-blocks.ts";
import { randomStoredFdb } from "../tests/helpers/fdb-fixtures.ts";
import { randomF32, rng } from "../tests/helpers/numeric.ts";
import { median } from "./harness.ts";

const e = await Engine.create();
const g = 128, COLD_BYTES = 256 << 20;
type K = Record<string, (...a: number[]) => void>;
const k = e.k as unknown as K;
const out: Record<string, Record<string, { hot: number; cold: number; bytes: number }>> = {};
for (const [M, Kc] of [[2048, 2048], [2048, 5632]]) {
  const shape = `${M}x${Kc}`;
  out[shape] = {};
  const stored = randomStoredFdb(M, Kc, g, rng(1));
  const dense = randomF32(M * Kc, rng(2), 0.05);
  const q8 = encodeQ8_0(dense);
  const x = e.allocF32(Kc, "x"); e.f32(x, Kc).set(randomF32(Kc, rng(3), 1));
  const o = e.allocF32(M, "o");
  const ws = e.arena.alloc(Kc * 16 + 4096, "ws"), ws2 = ws + Kc * 2 + 64, ws3 = ws2 + Kc + 64, ws4 = ws3 + Kc * 4 + 64;
  const stage = (bytes: Uint8Array) => { const p = e.arena.alloc(bytes.length, "stage"); e.u8(p, bytes.length).set(bytes); return p; };
  const sFdb = stage(stored.bytes), sQ8 = stage(q8), sF32 = e.allocF32(M * Kc, "f32src"); e.f32(sF32, M * Kc).set(dense);
  const kernels: Record<string, { bytes: number; pack: (dst: number) => void; run: (w: number) => void }> = {
    "fdb2 lut (6-bit tables)": {
      bytes: k.fdb_lut_bytes(M, Kc, g) as unknown as number, pack: (d) => k.fdb_pack_lut(d, sFdb, M, Kc, g, 0, M),
      run: (w) => { k.quantize_act_i8(ws, ws2, x, 1, Kc, g); k.fdb_build_qtables(ws3, ws4, ws, ws2, 1, Kc, g); k.fdb_matmul_lutq(o, ws3, ws4, w, 1, Kc, M, g, 0, M); },
    },
    "fdb2 lut-exact": {
      bytes: k.fdb_lut_bytes(M, Kc, g) as unknown as number, pack: (d) => k.fdb_pack_lut(d, sFdb, M, Kc, g, 0, M),
      run: (w) => { k.quantize_act_i8(ws, ws2, x, 1, Kc, g); k.fdb_build_tables(ws3, ws, 1, Kc); k.fdb_matmul_lut(o, ws3, ws2, w, 1, Kc, M, g, 0, M); },
    },
    "fdb2 popcount (i64.popcnt)": {
      bytes: k.fdb_pop_bytes(M, Kc, g) as unknown as number, pack: (d) => k.fdb_pack_pop(d, sFdb, M, Kc, g, 0),
      run: (w) => { k.quantize_act_i8(ws, ws2, x, 1, Kc, g); k.fdb_pop_prepare(ws3, ws, 1, Kc); k.fdb_matmul_pop(o, ws3, ws2, w, 1, Kc, M, g, 0, M); },
    },
    "fdb2 popcount (i8x16.popcnt)": {
      bytes: k.fdb_pop_bytes(M, Kc, g) as unknown as number, pack: (d) => k.fdb_pack_pop(d, sFdb, M, Kc, g, 0),
      run: (w) => { k.quantize_act_i8(ws, ws2, x, 1, Kc, g); k.fdb_pop_prepare(ws3, ws, 1, Kc); k.fdb_matmul_pop_simd(o, ws3, ws2, w, 1, Kc, M, g, 0, M); },
    },
    "q8 (int8, 7-bit activations)": {
      bytes: k.q8_bytes(M, Kc) as unknown as number, pack: (d) => k.q8_pack(d, sQ8, M, Kc, 0),
      run: (w) => { k.quantize_act_q7(ws, ws2, ws3, x, 1, Kc); k.q8_matmul(o, ws, ws2, ws3, w, 1, Kc, M, 0, M); },
    },
    "f32": {
      bytes: k.f32x8_bytes(M, Kc) as unknown as number, pack: (d) => k.pack_f32x8(d, sF32, M, Kc, 0),
      run: (w) => k.matmul_f32(o, x, w, 1, Kc, M, 0, M),
    },
  };
  for (const [name, kd] of Object.entries(kernels)) {
    const copies = Math.max(2, Math.ceil(COLD_BYTES / kd.bytes));
    const ptrs = Array.from({ length: copies }, () => { const p = e.arena.alloc(kd.bytes, name); kd.pack(p); return p; });
    for (let i = 0; i < 20; i++) kd.run(ptrs[0]); // tier up
    const ops = 2 * M * Kc;
    const hot: number[] = [], cold: number[] = [];
    for (let r = 0; r < 7; r++) {
      let t = performance.now(); const R = Math.max(5, Math.ceil(3e8 / ops));
      for (let i = 0; i < R; i++) kd.run(ptrs[0]);
      hot.push(ops * R / (performance.now() - t) / 1e6);
      t = performance.now();
      for (const p of ptrs) kd.run(p);
      cold.push(ops * ptrs.length / (performance.now() - t) / 1e6);
    }
    out[shape][name] = { hot: median(hot), cold: median(cold), bytes: kd.bytes };
    for (const p of ptrs) e.arena.dealloc(p);
  }
}
console.log(JSON.stringify({ build: e.build, results: out }));
