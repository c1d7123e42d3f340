// The f32 kernels of the forward pass: SIMD vs scalar reference vs a float64 JS oracle, on awkward shapes,
// in both kernel builds that this engine can run.
import { test } from "uvu";
import { Engine } from "../src/engine/engine.ts";
import { detectFeatures } from "../src/engine/features.ts";
import { assertClose, randomF32, rng } from "./helpers/numeric.ts";

const builds = detectFeatures().relaxedSimd ? (["simd", "relaxed"] as const) : (["simd"] as const);

for (const simd of builds) {
  test(`[${simd}] matmul_f32 (8-row packed layout): SIMD = reference = float64 oracle on awkward shapes`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(1);
    for (const [T, K, M] of [[1, 1, 1], [1, 3, 5], [2, 7, 4], [3, 17, 9], [1, 64, 33], [5, 129, 7], [8, 576, 13], [1, 2048, 8], [7, 33, 127], [4, 6, 16]]) {
      const x = randomF32(T * K, rand), w = randomF32(M * K, rand, 0.5);
      const px = e.allocF32(T * K + 4, "x"), pw = e.arena.alloc(e.k.f32x8_bytes(M, K), "w"), po = e.allocF32(T * M, "o"), pr = e.allocF32(T * M, "r");
      e.f32(px, T * K + 4).fill(Number.NaN); // poison beyond K: the kernels must never read it
      e.f32(px, T * K).set(x);
      // pack in two chunks of rows, as the loader does
      const split = Math.floor(M / 2), pa = e.allocF32(M * K, "src");
      e.f32(pa, M * K).set(w);
      e.k.pack_f32x8(pw, pa, split, K, 0);
      e.k.pack_f32x8(pw, pa + split * K * 4, M - split, K, split);
      const row = e.allocF32(K, "row");
      for (const r of [0, M - 1, split]) {
        e.k.unpack_row_f32x8(row, pw, K, r);
        assertClose(`unpack row ${r} of ${M}x${K}`, e.f32(row, K), w.subarray(r * K, (r + 1) * K), 0, true);
      }
      e.k.matmul_f32(po, px, pw, T, K, M, 0, M);
      e.k.matmul_f32_ref(pr, px, pw, T, K, M, 0, M);
      const oracle = new Float64Array(T * M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) { let s = 0; for (let k = 0; k < K; k++) s += x[t * K + k] * w[m * K + k]; oracle[t * M + m] = s; }
      const tol = 1e-6 * Math.sqrt(K) + 1e-6;
      assertClose(`T=${T} K=${K} M=${M} simd vs oracle`, e.f32(po, T * M), oracle, tol, true);
      assertClose(`T=${T} K=${K} M=${M} ref vs oracle`, e.f32(pr, T * M), oracle, tol, true);
      // a row sub-range writes only its rows
      const pp = e.allocF32(T * M, "p");
      e.f32(pp, T * M).fill(7);
      const m0 = Math.min(M, 8 * Math.floor(M / 24)), m1 = Math.max(m0, Math.min(M, 8 * Math.ceil((M - M / 4) / 8)));
      e.k.matmul_f32(pp, px, pw, T, K, M, m0, m1);
      const part = e.f32(pp, T * M), full = e.f32(po, T * M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
        const want = m >= m0 && m < m1 ? full[t * M + m] : 7;
        if (Math.abs(part[t * M + m] - want) > 1e-6) throw new Error(`row range [${m0},${m1}) wrote row ${m} wrong`);
      }
      for (const p of [px, pw, po, pr, pp, pa, row]) e.arena.dealloc(p);
    }
  });

  test(`[${simd}] rmsnorm, silu_mul, add: SIMD = reference`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(2);
    for (const [rows, n] of [[1, 1], [3, 5], [2, 64], [4, 576], [1, 2051]]) {
      const x = randomF32(rows * n, rand, 3), w = randomF32(n, rand);
      const px = e.allocF32(rows * n, "x"), pw = e.allocF32(n, "w"), pa = e.allocF32(rows * n, "a"), pb = e.allocF32(rows * n, "b");
      e.f32(px, rows * n).set(x); e.f32(pw, n).set(w);
      e.k.rmsnorm(pa, px, pw, rows, n, 1e-5);
      e.k.rmsnorm_ref(pb, px, pw, rows, n, 1e-5);
      const oracle = new Float64Array(rows * n);
      for (let r = 0; r < rows; r++) {
        let ss = 0; for (let i = 0; i < n; i++) ss += x[r * n + i] ** 2;
        const s = 1 / Math.sqrt(ss / n + 1e-5);
        for (let i = 0; i < n; i++) oracle[r * n + i] = x[r * n + i] * s * w[i];
      }
      assertClose(`rmsnorm ${rows}x${n}`, e.f32(pa, rows * n), oracle, 1e-6);
      assertClose(`rmsnorm_ref ${rows}x${n}`, e.f32(pb, rows * n), oracle, 1e-6);
      // silu(g)·u with large |g| (exp overflow territory)
      const g = randomF32(rows * n, rand, 60), u = randomF32(rows * n, rand);
      e.f32(pa, rows * n).set(g); e.f32(pb, rows * n).set(u);
      const po = e.allocF32(rows * n, "o");
      e.k.silu_mul(po, pa, pb, rows * n);
      const so = Float64Array.from(g, (gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
      assertClose(`silu_mul n=${rows * n}`, e.f32(po, rows * n), so, 2e-6);
      e.k.silu_mul_ref(po, pa, pb, rows * n);
      assertClose(`silu_mul_ref n=${rows * n}`, e.f32(po, rows * n), so, 2e-6);
      e.k.add(pa, pb, rows * n);
      assertClose(`add n=${rows * n}`, e.f32(pa, rows * n), Float64Array.from(g, (gv, i) => Math.fround(gv + u[i])), 0, true);
      for (const p of [px, pw, pa, pb, po]) e.arena.dealloc(p);
    }
  });

  test(`[${simd}] rope: both pair layouts, partial rotary, SIMD = reference = oracle`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(3);
    for (const [T, heads, headDim, rot] of [[1, 1, 8, 8], [3, 2, 64, 64], [2, 3, 64, 32], [2, 2, 6, 6], [4, 9, 64, 64], [1, 2, 128, 128]]) {
      const half = rot / 2;
      const x = randomF32(T * heads * headDim, rand);
      const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
      for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) { const a = (t + 5) * 10000 ** (-i / half); cos[t * half + i] = Math.cos(a); sin[t * half + i] = Math.sin(a); }
      for (const neox of [0, 1]) {
        const n = x.length;
        const pa = e.allocF32(n, "a"), pb = e.allocF32(n, "b"), pc = e.allocF32(cos.length, "c"), ps = e.allocF32(sin.length, "s");
        e.f32(pa, n).set(x); e.f32(pb, n).set(x); e.f32(pc, cos.length).set(cos); e.f32(ps, sin.length).set(sin);
        e.k.rope(pa, pc, ps, T, heads, headDim, rot, neox);
        e.k.rope_ref(pb, pc, ps, T, heads, headDim, rot, neox);
        const o = Float64Array.from(x);
        for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) {
          const base = (t * heads + h) * headDim;
          const ia = base + (neox ? i : 2 * i), ib = base + (neox ? i + half : 2 * i + 1);
          const c = cos[t * half + i], s = sin[t * half + i];
          o[ia] = x[ia] * c - x[ib] * s; o[ib] = x[ib] * c + x[ia] * s;
        }
        assertClose(`rope T=${T} h=${heads} d=${headDim} rot=${rot} neox=${neox}`, e.f32(pa, n), o, 1e-6);
        assertClose(`rope_ref T=${T} h=${heads} d=${headDim} rot=${rot} neox=${neox}`, e.f32(pb, n), o, 1e-6);
        for (const p of [pa, pb, pc, ps]) e.arena.dealloc(p);
      }
    }
  });

  test(`[${simd}] attention: causal GQA, sliding window, head ranges; SIMD = reference = oracle`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(4);
    for (const [T, pos0, heads, kvHeads, headDim, window] of [[1, 0, 1, 1, 4, 0], [4, 0, 4, 2, 8, 0], [3, 5, 9, 3, 64, 0], [1, 40, 9, 3, 64, 0], [6, 3, 4, 1, 12, 4], [5, 0, 2, 2, 6, 0], [2, 9, 8, 8, 128, 3], [2, 7, 4, 2, 80, 0], [1, 20, 6, 2, 48, 5]]) {
      const ctx = pos0 + T, kvDim = kvHeads * headDim, qDim = heads * headDim;
      const q = randomF32(T * qDim, rand, 2), kc = randomF32(ctx * kvDim, rand, 2), vc = randomF32(ctx * kvDim, rand);
      const pq = e.allocF32(q.length, "q"), pk = e.allocF32(kc.length, "k"), pv = e.allocF32(vc.length, "v");
      const pa = e.allocF32(T * qDim, "a"), pb = e.allocF32(T * qDim, "b"), ps = e.allocF32(ctx + 4, "s");
      e.f32(pq, q.length).set(q); e.f32(pk, kc.length).set(kc); e.f32(pv, vc.length).set(vc);
      const scale = 1 / Math.sqrt(headDim);
      e.k.attention(pa, pq, pk, pv, ps, T, pos0, heads, kvHeads, headDim, window, scale, 0, heads);
      e.k.attention_ref(pb, pq, pk, pv, ps, T, pos0, heads, kvHeads, headDim, window, scale, 0, heads);
      const o = new Float64Array(T * qDim), g = heads / kvHeads;
      for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) {
        const n = pos0 + t + 1, start = window > 0 ? Math.max(0, n - window) : 0, kvh = Math.floor(h / g);
        const sc: number[] = [];
        for (let p = start; p < n; p++) { let s = 0; for (let d = 0; d < headDim; d++) s += q[(t * heads + h) * headDim + d] * kc[p * kvDim + kvh * headDim + d]; sc.push(s * scale); }
        const mx = Math.max(...sc), ex = sc.map((s) => Math.exp(s - mx)), sum = ex.reduce((a, b) => a + b, 0);
        for (let d = 0; d < headDim; d++) { let acc = 0; for (let p = start; p < n; p++) acc += ex[p - start] * vc[p * kvDim + kvh * headDim + d]; o[(t * heads + h) * headDim + d] = acc / sum; }
      }
      const label = `T=${T} pos0=${pos0} h=${heads}/${kvHeads} d=${headDim} win=${window}`;
      assertClose(`attention ${label}`, e.f32(pa, o.length), o, 2e-6);
      assertClose(`attention_ref ${label}`, e.f32(pb, o.length), o, 2e-6);
      // split by heads gives the same result
      const pc = e.allocF32(T * qDim, "c");
      const mid = Math.floor(heads / 2);
      e.k.attention(pc, pq, pk, pv, ps, T, pos0, heads, kvHeads, headDim, window, scale, 0, mid);
      e.k.attention(pc, pq, pk, pv, ps, T, pos0, heads, kvHeads, headDim, window, scale, mid, heads);
      assertClose(`attention head split ${label}`, e.f32(pc, o.length), e.f32(pa, o.length), 0, true);
      for (const p of [pq, pk, pv, pa, pb, ps, pc]) e.arena.dealloc(p);
    }
  });
}

test.run();
