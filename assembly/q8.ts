// int8 weights with one scale per 32 (embeddings and the output head of quantized models).
//
// Stored layout = GGML's Q8_0: per 32 weights of a row, an f16 scale d then 32 int8; ŵ = d·w.
// Runtime layout ("q8x4"), repacked at load: blocks of 4 rows; per group of 32 columns, the 4 rows' 32 int8
// (128 bytes), their 4 scales as f32 (16 bytes), and their 4 weight sums Σw as i32 (16 bytes).
// Activations are quantized per 32 to 7 bits, q ∈ [-63, 63], and stored twice: widened to i16 for the baseline
// kernel (i32x4.dot_i16x8_s, 8 products per instruction), and as q + 64 ∈ [1, 127] bytes for the relaxed-SIMD
// kernel, whose i16x8.relaxed_dot_i8x16_i7x16_s takes 16 products per instruction but needs one operand in
// [0, 127]; Σ w·(q + 64) − 64·Σw = Σ w·q exactly, so both builds compute the same integers. 7 bits rather than 8
// is the price of that instruction; the head and embeddings are the only q8 matrices of fdb2 models.
import { rows4, store4 } from "./blocks4";
import { f16to32 } from "./fdb-common";

/** Bytes of the q8x4 layout of an (M, K) matrix (K a multiple of 32). */
export function q8_bytes(M: i32, K: i32): usize {
  return <usize>((M + 3) >> 2) * <usize>(K >> 5) * 160;
}

/** Repacks rows [r0, r0+n) of stored Q8_0 data (src: n rows) into the q8x4 layout at w. */
export function q8_pack(w: usize, src: usize, n: i32, K: i32, r0: i32): void {
  const G = K >> 5, blockBytes = <usize>G * 160;
  for (let i = 0; i < n; i++) {
    const r = r0 + i, lane = <usize>(r & 3);
    const blk = w + <usize>(r >> 2) * blockBytes;
    const row = src + <usize>i * <usize>(G * 34);
    for (let j = 0; j < G; j++) {
      const s = row + <usize>(j * 34), d = blk + <usize>j * 160;
      store<f32>(d + 128 + (lane << 2), f16to32(load<u16>(s)));
      v128.store(d + (lane << 5), v128.load(s + 2));
      v128.store(d + (lane << 5) + 16, v128.load(s + 18));
      let sum = 0;
      for (let k = 0; k < 32; k++) sum += <i32>load<i8>(s + 2 + <usize>k);
      store<i32>(d + 144 + (lane << 2), sum);
    }
  }
}

/** Row `row` of a q8x4 matrix as K f32 (embedding look-up). */
export function q8_unpack_row(out: usize /* (K) f32 */, w: usize /* q8x4 (M, K) */, K: i32, row: i32): void {
  const G = K >> 5, lane = <usize>(row & 3);
  const blk = w + <usize>(row >> 2) * <usize>G * 160;
  for (let j = 0; j < G; j++) {
    const d = blk + <usize>j * 160;
    const sc = f32x4.splat(load<f32>(d + 128 + (lane << 2)));
    const q = d + (lane << 5), o = out + (<usize>(j << 5) << 2);
    for (let h = 0; h < 2; h++) {
      const v = v128.load(q + (<usize>h << 4));
      const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
      const oo = o + (<usize>h << 6);
      v128.store(oo, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo))));
      v128.store(oo + 16, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo))));
      v128.store(oo + 32, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi))));
      v128.store(oo + 48, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi))));
    }
  }
}

/**
 * 7-bit activations per group of 32: s = max|x| / 63, q = round(x / s) ∈ [-63, 63] (ties to even); written as
 * i16 (q) and as u8 (q + 64).
 */
export function quantize_act_q7(
  q: usize,      // (T, K) i16 out
  qu: usize,     // (T, K) u8 out: q + 64
  scales: usize, // (T, K/32) f32 out
  x: usize,      // (T, K) f32
  T: i32, K: i32,
): void {
  const G = K >> 5;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < G; j++) {
      const xs = x + ((<usize>(t * K + (j << 5))) << 2);
      let amax = f32x4.splat(0);
      for (let i = 0; i < 32; i += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(xs + (<usize>i << 2))));
      const m = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
      const s: f32 = m / 63;
      store<f32>(scales + ((<usize>(t * G + j)) << 2), s);
      const inv = f32x4.splat(s > 0 ? <f32>1 / s : 0);
      const qs = q + ((<usize>(t * K + (j << 5))) << 1), qus = qu + <usize>(t * K + (j << 5));
      for (let i = 0; i < 32; i += 8) {
        const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xs + (<usize>i << 2)), inv)));
        const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xs + (<usize>(i + 4) << 2)), inv)));
        const c = i16x8.narrow_i32x4_s(a, b); // |values| ≤ 63: no saturation
        v128.store(qs + (<usize>i << 1), c);
        v128.store64_lane(qus + <usize>i, i8x16.narrow_i16x8_s(i16x8.add(c, i16x8.splat(64)), c), 0);
      }
    }
  }
}

/** Scalar reference on the stored Q8_0 layout: out[t,m] = Σ_groups s[t,j]·d[m,j]·Σ w·q. */
export function q8_matmul_ref(
  out: usize,    // (T, M) f32
  q: usize,      // (T, K) i16 (int8 values)
  scales: usize, // (T, K/32) f32
  w: usize,      // stored Q8_0 (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const G = K >> 5;
  for (let t = 0; t < T; t++) {
    for (let m = m0; m < m1; m++) {
      let acc: f32 = 0;
      for (let j = 0; j < G; j++) {
        const blk = w + <usize>(m * G + j) * 34;
        let dot = 0;
        for (let i = 0; i < 32; i++) dot += <i32>load<i8>(blk + 2 + <usize>i) * <i32>load<i16>(q + ((<usize>(t * K + (j << 5) + i)) << 1));
        acc += load<f32>(scales + ((<usize>(t * G + j)) << 2)) * (f16to32(load<u16>(blk)) * <f32>dot);
      }
      store<f32>(out + ((<usize>t * <usize>M + <usize>m) << 2), acc);
    }
  }
}

/** out (T, M) = q8 W (M, K) · activations, rows [m0, m1) (multiples of 4, or M). */
export function q8_matmul(
  out: usize,    // (T, M) f32
  q: usize,      // (T, K) i16 (7-bit values)
  qu: usize,     // (T, K) u8 (the same values + 64)
  scales: usize, // (T, K/32) f32
  w: usize,      // q8x4 (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) { q8_matmul_relaxed(out, qu, scales, w, T, K, M, m0, m1); return; }
  const G = K >> 5, blockBytes = <usize>G * 160;
  for (let m = m0; m < m1; m += 4) {
    const blk = w + <usize>(m >> 2) * blockBytes;
    for (let t = 0; t < T; t++) {
      const qt = q + ((<usize>t * <usize>K) << 1), st = scales + ((<usize>(t * G)) << 2);
      let acc = f32x4.splat(0);
      let p = blk;
      for (let j = 0; j < G; j++) {
        const xq = qt + (<usize>(j << 5) << 1);
        const x0 = v128.load(xq), x1 = v128.load(xq, 16), x2 = v128.load(xq, 32), x3 = v128.load(xq, 48);
        let r0 = v128.load(p), r1 = v128.load(p, 16);
        const d0 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r0), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r0), x1)),
          i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r1), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r1), x3)));
        r0 = v128.load(p, 32); r1 = v128.load(p, 48);
        const d1 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r0), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r0), x1)),
          i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r1), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r1), x3)));
        r0 = v128.load(p, 64); r1 = v128.load(p, 80);
        const d2 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r0), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r0), x1)),
          i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r1), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r1), x3)));
        r0 = v128.load(p, 96); r1 = v128.load(p, 112);
        const d3 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r0), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r0), x1)),
          i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(r1), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(r1), x3)));
        const rows = rows4(d0, d1, d2, d3);
        const sc = f32x4.mul(v128.load(p, 128), f32x4.splat(load<f32>(st + (<usize>j << 2))));
        acc = f32x4.add(acc, f32x4.mul(sc, f32x4.convert_i32x4_s(rows)));
        p += 160;
      }
      store4(out + ((<usize>t * <usize>M + <usize>m) << 2), m, m1, acc);
    }
  }
}

/**
 * Σ over 32 columns of w·x in four i32 lanes, x ∈ [0, 127]. Uses the i16 relaxed dot plus a pairwise widening:
 * binaryen 0.28's optimizer miscompiles i32x4.relaxed_dot_i8x16_i7x16_add_s (doubled products, accumulator
 * dropped; correct without optimization), so that instruction is avoided.
 */
// @ts-ignore: decorator
@inline function rdot(w0: v128, w1: v128, x0: v128, x1: v128): v128 {
  // each i16 lane holds two products (≤ 2·127·127): widen before adding
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w0, x0)), i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w1, x1)));
}

/** Relaxed-SIMD q8 product: 16 products per instruction on q + 64, minus 64·Σw (exactly the baseline's integers). */
function q8_matmul_relaxed(
  out: usize,    // (T, M) f32
  qu: usize,     // (T, K) u8: 7-bit activations + 64
  scales: usize, // (T, K/32) f32
  w: usize,      // q8x4 (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const G = K >> 5, blockBytes = <usize>G * 160;
  for (let m = m0; m < m1; m += 4) {
    const blk = w + <usize>(m >> 2) * blockBytes;
    for (let t = 0; t < T; t++) {
      const qt = qu + <usize>t * <usize>K, st = scales + ((<usize>(t * G)) << 2);
      let acc = f32x4.splat(0);
      let p = blk;
      for (let j = 0; j < G; j++) {
        const x0 = v128.load(qt + <usize>(j << 5)), x1 = v128.load(qt + <usize>(j << 5), 16);
        const d0 = rdot(v128.load(p), v128.load(p, 16), x0, x1);
        const d1 = rdot(v128.load(p, 32), v128.load(p, 48), x0, x1);
        const d2 = rdot(v128.load(p, 64), v128.load(p, 80), x0, x1);
        const d3 = rdot(v128.load(p, 96), v128.load(p, 112), x0, x1);
        const rows = i32x4.sub(rows4(d0, d1, d2, d3), i32x4.shl(v128.load(p, 144), 6));
        const sc = f32x4.mul(v128.load(p, 128), f32x4.splat(load<f32>(st + (<usize>j << 2))));
        acc = f32x4.add(acc, f32x4.mul(sc, f32x4.convert_i32x4_s(rows)));
        p += 160;
      }
      store4(out + ((<usize>t * <usize>M + <usize>m) << 2), m, m1, acc);
    }
  }
}
