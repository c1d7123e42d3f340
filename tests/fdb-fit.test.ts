// The FDB post-training fit, group by group: the invariants the stored groups must satisfy, the RTN
// baseline it must reproduce, and that it beats RTN at the same bits.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assign, f16Neighbours, fitGroup, groupError, toF16 } from "../src/quant/fdb.ts";
import { rng } from "./helpers/numeric.ts";

function gaussian(n: number, seed: number, outliers = false): Float32Array {
  const r = rng(seed), v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) * 0.02;
  if (outliers) for (let i = 0; i < n; i += 37) v[i] *= 8;
  return v;
}

const G = [32, 64, 128];

test("every weight sits at its nearest level and no single f16 scale step lowers the error", () => {
  for (const g of G) {
    for (const [seed, out] of [[1, false], [2, true]] as const) {
      const w = gaussian(g * 200, seed, out);
      const imp = Float32Array.from({ length: g }, (_, i) => 0.5 + (i % 7) / 7);
      for (const weights of [undefined, imp]) {
        const b1 = new Uint8Array(g), b2 = new Uint8Array(g), c1 = new Uint8Array(g), c2 = new Uint8Array(g);
        let worstGain = 0;
        for (let o = 0; o < w.length; o += g) {
          const f = fitGroup(w, o, g, weights, b1, b2, 0, "fdb");
          assert.is(f.a1, toF16(f.a1)); assert.is(f.a2, toF16(f.a2));
          // nearest level: re-assigning with the same scales changes nothing and keeps the error
          const e = assign(w, o, g, weights, f.a1, f.a2, c1, c2, 0);
          assert.ok(Math.abs(e - f.err) <= 1e-12 + 1e-9 * f.err, `group ${o / g}: error ${f.err} vs re-assigned ${e}`);
          for (let i = 0; i < g; i++) {
            const v = w[o + i], got = Math.abs(v - f.a1 * b1[i] - f.a2 * b2[i]);
            for (const lvl of [0, f.a1, f.a2, f.a1 + f.a2]) assert.ok(got <= Math.abs(v - lvl) + 1e-12, `weight ${i} not at its nearest level`);
          }
          // local optimality of each scale on the f16 grid (binaries fixed)
          for (const n1 of f16Neighbours(f.a1)) worstGain = Math.max(worstGain, f.err - groupError(w, o, g, weights, n1, f.a2, b1, b2, 0));
          for (const n2 of f16Neighbours(f.a2)) worstGain = Math.max(worstGain, f.err - groupError(w, o, g, weights, f.a1, n2, b1, b2, 0));
        }
        console.log(`  g=${g} ${out ? "outliers" : "gaussian"} ${weights ? "weighted" : "mse"}: best error decrease from one f16 scale step = ${worstGain.toExponential(2)} (must be ≤ 0)`);
        assert.ok(worstGain <= 1e-15);
      }
    }
  }
});

test("--method rtn reproduces clamp(round(w/s), -2, 1)·s with s = absmax/2 (f16)", () => {
  const g = 64, w = gaussian(g * 100, 3);
  const b1 = new Uint8Array(g), b2 = new Uint8Array(g);
  let worst = 0;
  for (let o = 0; o < w.length; o += g) {
    const f = fitGroup(w, o, g, undefined, b1, b2, 0, "rtn");
    let amax = 0; for (let i = 0; i < g; i++) amax = Math.max(amax, Math.abs(w[o + i]));
    const s = toF16(amax / 2);
    for (let i = 0; i < g; i++) {
      const q = Math.max(-2, Math.min(1, Math.round(w[o + i] / s)));
      worst = Math.max(worst, Math.abs(q * s - (f.a1 * b1[i] + f.a2 * b2[i])));
    }
  }
  console.log(`  RTN: max |ours − clamp(round(w/s))·s| = ${worst}`);
  assert.ok(worst <= 1e-9);
});

test("FDB beats RTN at the same bits; binaries are mostly zero", () => {
  for (const g of G) {
    const w = gaussian(g * 500, 4 + g, true);
    const b1 = new Uint8Array(g), b2 = new Uint8Array(g);
    let ef = 0, er = 0, zeros = 0, total = 0, worse = 0;
    for (let o = 0; o < w.length; o += g) {
      const r = fitGroup(w, o, g, undefined, b1, b2, 0, "rtn").err;
      const f = fitGroup(w, o, g, undefined, b1, b2, 0, "fdb").err;
      er += r; ef += f;
      if (f > r * (1 + 1e-6) + 1e-15) worse++;
      for (let i = 0; i < g; i++) zeros += (b1[i] === 0 ? 1 : 0) + (b2[i] === 0 ? 1 : 0);
      total += 2 * g;
    }
    console.log(`  g=${g}: FDB squared error = ${(ef / er).toFixed(3)} × RTN's; groups where FDB is worse: ${worse}; zero binaries ${(100 * zeros / total).toFixed(1)}%`);
    assert.ok(ef < er);
    assert.is(worse, 0);
  }
});

test("degenerate groups: all zero, constant, a single non-zero", () => {
  const g = 32, b1 = new Uint8Array(g), b2 = new Uint8Array(g);
  const z = fitGroup(new Float32Array(g), 0, g, undefined, b1, b2, 0, "fdb");
  assert.equal([z.a1, z.a2, z.err], [0, 0, 0]);
  const c = fitGroup(new Float32Array(g).fill(0.5), 0, g, undefined, b1, b2, 0, "fdb");
  assert.ok(c.err < 1e-6);
  const one = new Float32Array(g); one[5] = -3;
  const s = fitGroup(one, 0, g, undefined, b1, b2, 0, "fdb");
  assert.ok(s.err < 1e-6, `error ${s.err}`);
});

test.run();
