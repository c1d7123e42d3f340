// The fast lookup-table kernel for fdb2: the same weight layout as fdb-lut.ts ("lut16"), but ONE table per chunk
// of 4 activations instead of two (lo/hi nibbles), with entries re-quantized to [-31, 31] per group ("table
// quantization", as in T-MAC). Half the lookups, and four lookups still sum in 8 bits before widening, so the
// inner loop runs about half the instructions of the exact kernel. The price: each partial sum of 4 int8
// activations is rounded to 1/31 of the group's largest one, which adds noise to the product (measured on
// SmolLM2 activations: 5.4% relative error of a product vs 1.4% with exact tables; docs/KERNELS.md).
import { f16to32, load4, lutPasses, scaleRows, store16 } from "./fdb-common";

// @ts-ignore: decorator
@inline const LEVELS: f32 = 31;

// @ts-ignore: decorator
@inline function lookup(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/**
 * Builds quantized tables for T rows of int8 activations: per chunk of 4, 16 int8 subset sums scaled by the
 * group's table scale; per group, scales[t, j] = (activation scale) · (table scale).
 */
export function fdb_build_qtables(
  tables: usize,     // (T, K/4, 16) i8 out
  tscales: usize,    // (T, K/g) f32 out: combined scale of each group's integer sums
  q: usize,          // (T, K) i8
  ascales: usize,    // (T, K/g) f32 activation scales (quantize_act_i8)
  T: i32, K: i32, g: i32,
): void {
  const G = K / g, cpg = g >> 2;
  // subset masks: lane idx has bit i set → activation i of the chunk is in the subset
  const m0 = i8x16(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
  const m1 = i8x16(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1);
  const m2 = i8x16(0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1);
  const m3 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < G; j++) {
      const qg = q + <usize>(t * K + j * g);
      // the group's largest subset sum in magnitude: per chunk, the sum of its positive or of its negative values
      // (16 activations = 4 chunks at a time; activations are in [-127, 127], so negating them cannot overflow)
      let mx = i32x4.splat(0);
      let c = 0;
      for (; c + 4 <= cpg; c += 4) {
        const a = v128.load(qg + <usize>(4 * c));
        const pos = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(i8x16.max_s(a, i8x16.splat(0))));
        const neg = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(i8x16.max_s(i8x16.neg(a), i8x16.splat(0))));
        mx = i32x4.max_s(mx, i32x4.max_s(pos, neg));
      }
      let tmax = max(max(i32x4.extract_lane(mx, 0), i32x4.extract_lane(mx, 1)), max(i32x4.extract_lane(mx, 2), i32x4.extract_lane(mx, 3)));
      for (; c < cpg; c++) { // groups of 4, 8 or 12 columns
        let pos = 0, neg = 0;
        for (let i = 0; i < 4; i++) { const a = <i32>load<i8>(qg + <usize>(4 * c + i)); if (a > 0) pos += a; else neg -= a; }
        tmax = max(tmax, max(pos, neg));
      }
      const st: f32 = <f32>tmax / LEVELS;
      store<f32>(tscales + ((<usize>(t * G + j)) << 2), load<f32>(ascales + ((<usize>(t * G + j)) << 2)) * st);
      const inv = f32x4.splat(tmax > 0 ? LEVELS / <f32>tmax : 0);
      for (let c = 0; c < cpg; c++) {
        const p = qg + <usize>(4 * c);
        // exact sums as i16 (|sum| ≤ 508): low and high halves of the 16 entries
        const a0 = i16x8.splat(<i16>load<i8>(p)), a1 = i16x8.splat(<i16>load<i8>(p, 1)), a2 = i16x8.splat(<i16>load<i8>(p, 2)), a3 = i16x8.splat(<i16>load<i8>(p, 3));
        const lo = i16x8.add(i16x8.add(v128.and(a0, i16x8.extend_low_i8x16_s(m0)), v128.and(a1, i16x8.extend_low_i8x16_s(m1))),
          i16x8.add(v128.and(a2, i16x8.extend_low_i8x16_s(m2)), v128.and(a3, i16x8.extend_low_i8x16_s(m3))));
        const hi = i16x8.add(i16x8.add(v128.and(a0, i16x8.extend_high_i8x16_s(m0)), v128.and(a1, i16x8.extend_high_i8x16_s(m1))),
          i16x8.add(v128.and(a2, i16x8.extend_high_i8x16_s(m2)), v128.and(a3, i16x8.extend_high_i8x16_s(m3))));
        const r0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), inv)));
        const r1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), inv)));
        const r2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), inv)));
        const r3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), inv)));
        v128.store(tables + ((<usize>(t * K + j * g) >> 2) << 4) + (<usize>c << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3)));
      }
    }
  }
}

/** Scalar reference of the quantized-table product (test oracle), on the stored fdb2 layout. */
export function fdb_matmul_lutq_ref(
  out: usize,     // (T, M) f32
  tables: usize,  // (T, K/4, 16) i8
  tscales: usize, // (T, K/g) f32
  w: usize,       // stored fdb2 (M, K)
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  const G = K / g, gb = (g >> 2) + 4, pb = g >> 3;
  for (let t = 0; t < T; t++) {
    for (let m = m0; m < m1; m++) {
      let acc: f32 = 0;
      for (let j = 0; j < G; j++) {
        const grp = w + <usize>(m * G + j) * <usize>gb;
        let p1 = 0, p2 = 0;
        for (let c = 0; c < (g >> 2); c++) {
          const byte1 = <u32>load<u8>(grp + <usize>(c >> 1)), byte2 = <u32>load<u8>(grp + <usize>(pb + (c >> 1)));
          const i1 = (c & 1) ? byte1 >> 4 : byte1 & 15, i2 = (c & 1) ? byte2 >> 4 : byte2 & 15;
          const tab = tables + ((<usize>(t * K + j * g) >> 2) << 4) + (<usize>c << 4);
          p1 += <i32>load<i8>(tab + <usize>i1);
          p2 += <i32>load<i8>(tab + <usize>i2);
        }
        const a1 = f16to32(load<u16>(grp + <usize>(2 * pb))), a2 = f16to32(load<u16>(grp + <usize>(2 * pb + 2)));
        acc += load<f32>(tscales + ((<usize>(t * G + j)) << 2)) * (a1 * <f32>p1 + a2 * <f32>p2);
      }
      store<f32>(out + ((<usize>t * <usize>M + <usize>m) << 2), acc);
    }
  }
}

/** out (T, M) = fdb2 W (lut16 layout, as fdb_pack_lut makes it) · activations, with quantized tables. */
export function fdb_matmul_lutq(
  out: usize,     // (T, M) f32
  tables: usize,  // (T, K/4, 16) i8
  tscales: usize, // (T, K/g) f32
  w: usize,       // lut16 (M, K)
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  lutPasses(lutqBlock, out, tables, 4, tscales, w, T, K, M, g, m0, m1);
}

/** One block of 16 rows and one token over groups j0 … j1 (LutBlock). */
function lutqBlock(o: usize, tt: usize, st: usize, p: usize, g: i32, j0: i32, j1: i32, m: i32, end: i32): void {
  const pb = g >> 3;
  const low4 = i8x16.splat(15);
  let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
  if (j0 > 0) { o0 = load4(o, m, end, 0); o1 = load4(o, m, end, 4); o2 = load4(o, m, end, 8); o3 = load4(o, m, end, 12); }
  for (let j = j0; j < j1; j++) {
    let p1a = i16x8.splat(0), p1b = i16x8.splat(0), p2a = i16x8.splat(0), p2b = i16x8.splat(0);
    let tp = tt + <usize>(j * g) * 4;
    for (let c = 0; c < pb; c += 2) {
      // 16 columns = 4 chunks; lookups in [-31, 31] sum in 8 bits
      const w1 = v128.load(p), w2 = v128.load(p, 16), w3 = v128.load(p, 32), w4 = v128.load(p, 48);
      const ta = v128.load(tp), tb = v128.load(tp, 16), tc = v128.load(tp, 32), td = v128.load(tp, 48);
      const s1 = i8x16.add(i8x16.add(lookup(ta, v128.and(w1, low4)), lookup(tb, v128.and(i16x8.shr_u(w1, 4), low4))),
        i8x16.add(lookup(tc, v128.and(w3, low4)), lookup(td, v128.and(i16x8.shr_u(w3, 4), low4))));
      const s2 = i8x16.add(i8x16.add(lookup(ta, v128.and(w2, low4)), lookup(tb, v128.and(i16x8.shr_u(w2, 4), low4))),
        i8x16.add(lookup(tc, v128.and(w4, low4)), lookup(td, v128.and(i16x8.shr_u(w4, 4), low4))));
      p1a = i16x8.add(p1a, i16x8.extend_low_i8x16_s(s1)); p1b = i16x8.add(p1b, i16x8.extend_high_i8x16_s(s1));
      p2a = i16x8.add(p2a, i16x8.extend_low_i8x16_s(s2)); p2b = i16x8.add(p2b, i16x8.extend_high_i8x16_s(s2));
      p += 64; tp += 64;
    }
    const s = f32x4.splat(load<f32>(st + (<usize>j << 2)));
    o0 = scaleRows(o0, i32x4.extend_low_i16x8_s(p1a), i32x4.extend_low_i16x8_s(p2a), s, p, p + 64);
    o1 = scaleRows(o1, i32x4.extend_high_i16x8_s(p1a), i32x4.extend_high_i16x8_s(p2a), s, p + 16, p + 80);
    o2 = scaleRows(o2, i32x4.extend_low_i16x8_s(p1b), i32x4.extend_low_i16x8_s(p2b), s, p + 32, p + 96);
    o3 = scaleRows(o3, i32x4.extend_high_i16x8_s(p1b), i32x4.extend_high_i16x8_s(p2b), s, p + 48, p + 112);
    p += 128;
  }
  store16(o, m, end, o0, o1, o2, o3);
}
