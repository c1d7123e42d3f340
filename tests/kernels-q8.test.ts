// q8 kernels (Q8_0-stored int8 weights, 7-bit activations): product against the scalar reference and the float
// product of the dequantized weights, row look-up against the Q8_0 decoder, both kernel builds, awkward shapes.
import { test } from "uvu";
import { Engine } from "../src/engine/engine.ts";
import { detectFeatures } from "../src/engine/features.ts";
import { decodeQ8_0, encodeQ8_0 } from "../src/quant/ggml-blocks.ts";
import { assertClose, randomF32, rng } from "./helpers/numeric.ts";

const builds = detectFeatures().relaxedSimd ? (["simd", "relaxed"] as const) : (["simd"] as const);

for (const simd of builds) {
  test(`[${simd}] q8_matmul = q8_matmul_ref = float product; q8_unpack_row = Q8_0 decode`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(21);
    for (const [T, K, M] of [[1, 32, 1], [2, 64, 5], [3, 576, 7], [1, 2048, 16], [5, 96, 13], [4, 128, 4]]) {
      const G = K / 32;
      const wf = randomF32(M * K, rand, 0.1);
      for (let i = 0; i < wf.length; i += 41) wf[i] *= 10;
      const stored = encodeQ8_0(wf), dense = new Float32Array(M * K);
      decodeQ8_0(stored, dense);
      const x = randomF32(T * K, rand, 2);
      for (let i = 0; i < x.length; i += 29) x[i] *= 30;
      const px = e.allocF32(T * K, "x"), pq = e.arena.alloc(T * K * 2, "q"), pqu = e.arena.alloc(T * K, "qu"), ps = e.allocF32(T * G, "s");
      const pw = e.arena.alloc(stored.length, "w"), pl = e.arena.alloc(e.k.q8_bytes(M, K), "l"), pa = e.allocF32(T * M, "a"), pr = e.allocF32(T * M, "r");
      e.f32(px, T * K).set(x);
      e.u8(pw, stored.length).set(stored);
      const split = Math.min(M, 2), rowBytes = stored.length / M;
      e.k.q8_pack(pl, pw, split, K, 0);
      e.k.q8_pack(pl, pw + split * rowBytes, M - split, K, split);
      e.k.quantize_act_q7(pq, pqu, ps, px, T, K);
      const q7 = new Int16Array(e.memory.buffer, pq, T * K), qu = e.u8(pqu, T * K);
      for (let i = 0; i < T * K; i++) if (q7[i] < -63 || q7[i] > 63 || qu[i] !== q7[i] + 64) throw new Error(`activation ${i}: q=${q7[i]} qu=${qu[i]}`);
      e.k.q8_matmul(pa, pq, pqu, ps, pl, T, K, M, 0, M);
      e.k.q8_matmul_ref(pr, pq, ps, pw, T, K, M, 0, M);
      const q = new Int16Array(e.memory.buffer, pq, T * K), s = e.f32(ps, T * G);
      const oracle = new Float64Array(T * M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += dense[m * K + k] * q[t * K + k] * s[t * G + (k >> 5)];
        oracle[t * M + m] = acc;
      }
      const label = `T=${T} K=${K} M=${M}`;
      assertClose(`q8 vs reference ${label}`, e.f32(pa, T * M), e.f32(pr, T * M), 1e-5);
      assertClose(`q8 reference vs float product ${label}`, e.f32(pr, T * M), oracle, 1e-5);
      const pu = e.allocF32(K, "u");
      for (const r of [0, M - 1]) {
        e.k.q8_unpack_row(pu, pl, K, r);
        assertClose(`unpack row ${r} ${label}`, e.f32(pu, K), dense.subarray(r * K, (r + 1) * K), 0, true);
      }
      for (const p of [px, pq, pqu, ps, pw, pl, pa, pr, pu]) e.arena.dealloc(p);
    }
  });
}

test.run();
