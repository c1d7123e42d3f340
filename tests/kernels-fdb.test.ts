// fdb2 kernels: int8 activation quantization, the exact lookup-table product (both kernel builds) against the
// scalar reference on the stored layout and against the float product of the dequantized weights; the fast
// (quantized-table) product against its own reference and within its rounding bound of the exact product.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/engine/engine.ts";
import { detectFeatures } from "../src/engine/features.ts";
import { lutqBound, randomStoredFdb } from "./helpers/fdb-fixtures.ts";
import { assertClose, randomF32, rng } from "./helpers/numeric.ts";

const builds = detectFeatures().relaxedSimd ? (["simd", "relaxed"] as const) : (["simd"] as const);

function activations(T: number, K: number, g: number, rand: () => number): Float32Array {
  const x = randomF32(T * K, rand, 1);
  for (let i = 0; i < x.length; i += 53) x[i] *= 40; // outlier channels
  if (K >= 2 * g) x.fill(0, 0, g); // an all-zero group in the first token
  if (T > 1) x[K + 3] = -500; // a huge negative extreme
  return x;
}

for (const simd of builds) {
  test(`[${simd}] quantize_act_i8: per-group int8, round to nearest even, |q| ≤ 127`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(7);
    const T = 3, K = 256, g = 64, G = K / g;
    const x = activations(T, K, g, rand);
    const px = e.allocF32(T * K, "x"), pq = e.arena.alloc(T * K, "q"), ps = e.allocF32(T * G, "s");
    e.f32(px, T * K).set(x);
    e.k.quantize_act_i8(pq, ps, px, T, K, g);
    const q = new Int8Array(e.memory.buffer, pq, T * K), s = e.f32(ps, T * G);
    for (let t = 0; t < T; t++) for (let j = 0; j < G; j++) {
      let amax = 0; for (let i = 0; i < g; i++) amax = Math.max(amax, Math.abs(x[t * K + j * g + i]));
      assert.is(s[t * G + j], Math.fround(Math.fround(amax) / 127));
      for (let i = 0; i < g; i++) {
        const k = t * K + j * g + i, v = amax ? x[k] / s[t * G + j] : 0;
        const want = Math.max(-127, Math.min(127, Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v)));
        assert.ok(Math.abs(q[k] - want) <= (Math.abs(Math.abs(v % 1) - 0.5) < 1e-5 ? 1 : 0), `q[${k}] = ${q[k]}, want ${want} (x/s = ${v})`);
      }
    }
  });

  test(`[${simd}] fdb_matmul_lut = fdb_matmul_ref = float product, awkward shapes and group sizes`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(11);
    for (const [T, K, M, g] of [[1, 64, 16, 64], [1, 32, 1, 32], [2, 64, 5, 32], [3, 128, 17, 128], [1, 576, 33, 64], [5, 256, 48, 128], [4, 512, 31, 256], [1, 2048, 64, 128], [7, 192, 20, 64], [2, 4608, 20, 128], [1, 5632, 17, 64]]) {
      const G = K / g;
      const w = randomStoredFdb(M, K, g, rand);
      const x = activations(T, K, g, rand);
      const px = e.allocF32(T * K, "x"), pq = e.arena.alloc(T * K, "q"), ps = e.allocF32(T * G, "s");
      const pt = e.arena.alloc(T * K * 8, "tables"), pw = e.arena.alloc(w.bytes.length, "stored"), pl = e.arena.alloc(e.k.fdb_lut_bytes(M, K, g), "lut");
      const pa = e.allocF32(T * M, "a"), pr = e.allocF32(T * M, "r");
      e.f32(px, T * K).set(x);
      e.u8(pw, w.bytes.length).set(w.bytes);
      e.u8(pl, e.k.fdb_lut_bytes(M, K, g)).fill(0xcd); // padding rows must not matter
      // pack in two uneven chunks of rows, as the loader does
      const split = Math.min(M, 3), rowBytes = w.bytes.length / M;
      e.k.fdb_pack_lut(pl, pw, split, K, g, 0, M);
      e.k.fdb_pack_lut(pl, pw + split * rowBytes, M - split, K, g, split, M);
      e.k.quantize_act_i8(pq, ps, px, T, K, g);
      e.k.fdb_build_tables(pt, pq, T, K);
      e.f32(pa, T * M).fill(Number.NaN);
      e.k.fdb_matmul_lut(pa, pt, ps, pl, T, K, M, g, 0, M);
      e.k.fdb_matmul_ref(pr, pq, ps, pw, T, K, M, g, 0, M);
      // float product of the dequantized weights with the dequantized activations, in float64
      const q = new Int8Array(e.memory.buffer, pq, T * K), s = e.f32(ps, T * G);
      const oracle = new Float64Array(T * M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += w.dense[m * K + k] * q[t * K + k] * s[t * G + Math.floor(k / g)];
        oracle[t * M + m] = acc;
      }
      const label = `T=${T} K=${K} M=${M} g=${g}`;
      assertClose(`lut vs reference ${label}`, e.f32(pa, T * M), e.f32(pr, T * M), 1e-5);
      assertClose(`reference vs float product ${label}`, e.f32(pr, T * M), oracle, 1e-5);
      // split by rows (threads) gives the same output
      const pb = e.allocF32(T * M, "b");
      const mid = Math.min(M, 16);
      e.k.fdb_matmul_lut(pb, pt, ps, pl, T, K, M, g, 0, mid);
      if (mid < M) e.k.fdb_matmul_lut(pb, pt, ps, pl, T, K, M, g, mid, M);
      assertClose(`row split ${label}`, e.f32(pb, T * M), e.f32(pa, T * M), 0, true);
      // the fast kernel: one table per chunk, entries rounded to [-31, 31] per group
      const pqt = e.arena.alloc(T * K * 4, "qtables"), pts = e.allocF32(T * G, "tscales"), pf = e.allocF32(T * M, "f"), pfr = e.allocF32(T * M, "fr");
      e.k.fdb_build_qtables(pqt, pts, pq, ps, T, K, g);
      e.f32(pf, T * M).fill(Number.NaN);
      e.k.fdb_matmul_lutq(pf, pqt, pts, pl, T, K, M, g, 0, M);
      e.k.fdb_matmul_lutq_ref(pfr, pqt, pts, pw, T, K, M, g, 0, M);
      assertClose(`lutq vs its reference ${label}`, e.f32(pf, T * M), e.f32(pfr, T * M), 1e-5);
      const qt = new Int8Array(e.memory.buffer, pqt, T * K * 4);
      assert.ok(qt.every((v) => v >= -31 && v <= 31), "table entries outside [-31, 31]");
      // the tables themselves, recomputed here: per group tmax = the largest |subset sum| of a chunk, entries
      // round(sum·31/tmax) (ties to even), table scale = activation scale · tmax/31
      let tableErrors = 0;
      const ts = e.f32(pts, T * G), qa = new Int8Array(e.memory.buffer, pq, T * K), sa = e.f32(ps, T * G); // fresh views: memory may have grown

      for (let t = 0; t < T; t++) for (let j = 0; j < G; j++) {
        let tmax = 0;
        for (let c = j * g; c < (j + 1) * g; c += 4) {
          let pos = 0, neg = 0;
          for (let i = 0; i < 4; i++) { const a = qa[t * K + c + i]; if (a > 0) pos += a; else neg -= a; }
          tmax = Math.max(tmax, pos, neg);
        }
        if (ts[t * G + j] !== Math.fround(sa[t * G + j] * Math.fround(tmax / 31))) tableErrors++;
        const inv = Math.fround(tmax > 0 ? 31 / tmax : 0);
        for (let c = j * g; c < (j + 1) * g; c += 4) for (let idx = 0; idx < 16; idx++) {
          let sum = 0;
          for (let i = 0; i < 4; i++) if (idx & (1 << i)) sum += qa[t * K + c + i];
          const v = Math.fround(sum * inv), r = Math.round(v), want = Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
          if (qt[(t * K + c) * 4 + idx] !== want) tableErrors++;
        }
      }
      assert.is(tableErrors, 0, `${label}: ${tableErrors} table entries or scales differ from the recomputation`);
      // rigorous bound: every looked-up entry is off by at most half a table step from the exact subset sum
      const fast = e.f32(pf, T * M), exact = e.f32(pr, T * M);
      const bound = lutqBound(w.bytes, e.f32(pts, T * G), T, M, K, g, exact);
      let worst = 0;
      for (let i = 0; i < T * M; i++) {
        const d = Math.abs(fast[i] - exact[i]);
        worst = Math.max(worst, d / bound[i]);
        assert.ok(d <= bound[i], `${label} output ${i}: fast ${fast[i]} vs exact ${exact[i]} beyond the rounding bound ${bound[i]}`);
      }
      console.log(`  ok  lutq within its table-rounding bound ${label}: worst |Δ| / bound = ${worst.toFixed(3)}`);
      for (const p of [px, pq, ps, pt, pw, pl, pa, pr, pb, pqt, pts, pf, pfr]) e.arena.dealloc(p);
    }
  });
}

test.run();
