// 4-bit weights with one scale per 32 (an optional type for the embeddings and output head of 2-bit models).
//
// Stored layout = GGML's Q4_0: per 32 weights of a row, an f16 scale d then 16 bytes; byte j holds weight j in
// its low nibble and weight j + 16 in its high nibble, each as an unsigned code c ∈ [0, 15]: ŵ = d·(c − 8).
// Runtime layout ("q4x4"), repacked at load: blocks of 4 rows; per group of 32 columns, the 4 rows' 16 bytes
// (64 bytes, as stored), their 4 scales as f32 (16 bytes) and their 4 sums Σ(c − 8) as i32 (16 bytes): 96 bytes
// per 128 weights, 0.6 of q8x4's 160. The head of a decode step streams every weight once from memory, so its
// time follows its bytes where the kernel keeps up (the relaxed build; docs/KERNELS.md).
//
// The products are q8.ts's with the nibbles unpacked in registers: activations are the same 7-bit codes per 32
// (quantize_act_q7), the baseline kernel widens weights to i16 for i32x4.dot_i16x8_s, the relaxed kernel takes
// 16 products per instruction on q + 64 and subtracts 64·Σw — the same integers in both builds.
import { rows4, store4 } from "./blocks4";
import { f16to32 } from "./fdb-common";

/** Bytes of the q4x4 layout of an (M, K) matrix (K a multiple of 32). */
export function q4_bytes(M: i32, K: i32): usize {
  return <usize>((M + 3) >> 2) * <usize>(K >> 5) * 96;
}

/** Repacks rows [r0, r0+n) of stored Q4_0 data (src: n rows) into the q4x4 layout at w. */
export function q4_pack(w: usize, src: usize, n: i32, K: i32, r0: i32): void {
  const G = K >> 5, blockBytes = <usize>G * 96;
  for (let i = 0; i < n; i++) {
    const r = r0 + i, lane = <usize>(r & 3);
    const blk = w + <usize>(r >> 2) * blockBytes;
    const row = src + <usize>i * <usize>(G * 18);
    for (let j = 0; j < G; j++) {
      const s = row + <usize>(j * 18), d = blk + <usize>j * 96;
      store<f32>(d + 64 + (lane << 2), f16to32(load<u16>(s)));
      v128.store(d + (lane << 4), v128.load(s + 2));
      let sum = 0;
      for (let k = 0; k < 16; k++) { const b = <i32>load<u8>(s + 2 + <usize>k); sum += (b & 15) + (b >> 4) - 16; }
      store<i32>(d + 80 + (lane << 2), sum);
    }
  }
}

/** Row `row` of a q4x4 matrix as K f32 (embedding look-up). */
export function q4_unpack_row(out: usize /* (K) f32 */, w: usize /* q4x4 (M, K) */, K: i32, row: i32): void {
  const G = K >> 5, lane = <usize>(row & 3);
  const blk = w + <usize>(row >> 2) * <usize>G * 96;
  const low4 = i8x16.splat(15), eight = i8x16.splat(8);
  for (let j = 0; j < G; j++) {
    const d = blk + <usize>j * 96;
    const sc = f32x4.splat(load<f32>(d + 64 + (lane << 2)));
    const v = v128.load(d + (lane << 4));
    const o = out + (<usize>(j << 5) << 2);
    for (let h = 0; h < 2; h++) {
      const c = i8x16.sub(h == 0 ? v128.and(v, low4) : v128.and(i16x8.shr_u(v, 4), low4), eight);
      const lo = i16x8.extend_low_i8x16_s(c), hi = i16x8.extend_high_i8x16_s(c);
      const oo = o + (<usize>h << 6);
      v128.store(oo, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo))));
      v128.store(oo + 16, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo))));
      v128.store(oo + 32, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi))));
      v128.store(oo + 48, f32x4.mul(sc, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi))));
    }
  }
}

/** Scalar reference on the stored Q4_0 layout: out[t,m] = Σ_groups s[t,j]·d[m,j]·Σ (c − 8)·q. */
export function q4_matmul_ref(
  out: usize,    // (T, M) f32
  q: usize,      // (T, K) i16 (7-bit values)
  scales: usize, // (T, K/32) f32
  w: usize,      // stored Q4_0 (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const G = K >> 5;
  for (let t = 0; t < T; t++) {
    for (let m = m0; m < m1; m++) {
      let acc: f32 = 0;
      for (let j = 0; j < G; j++) {
        const blk = w + <usize>(m * G + j) * 18;
        const x = q + ((<usize>(t * K + (j << 5))) << 1);
        let dot = 0;
        for (let i = 0; i < 16; i++) {
          const b = <i32>load<u8>(blk + 2 + <usize>i);
          dot += ((b & 15) - 8) * <i32>load<i16>(x + (<usize>i << 1)) + ((b >> 4) - 8) * <i32>load<i16>(x + (<usize>(i + 16) << 1));
        }
        acc += load<f32>(scales + ((<usize>(t * G + j)) << 2)) * (f16to32(load<u16>(blk)) * <f32>dot);
      }
      store<f32>(out + ((<usize>t * <usize>M + <usize>m) << 2), acc);
    }
  }
}

/** Columns 0…15 (low nibbles) and 16…31 (high nibbles) of one row's 16 bytes, as signed codes c − 8. */
// @ts-ignore: decorator
@inline function lowCodes(v: v128): v128 { return i8x16.sub(v128.and(v, i8x16.splat(15)), i8x16.splat(8)); }
// @ts-ignore: decorator
@inline function highCodes(v: v128): v128 { return i8x16.sub(v128.and(i16x8.shr_u(v, 4), i8x16.splat(15)), i8x16.splat(8)); }

/** One row's 32 products with the i16 activations x0…x3 (baseline SIMD), in four i32 lanes. */
// @ts-ignore: decorator
@inline function dot16(v: v128, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const a = lowCodes(v), b = highCodes(v);
  return i32x4.add(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), x1)),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(b), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(b), x3)));
}

/**
 * Σ over one row's 32 columns of (c − 8)·x in four i32 lanes, x ∈ [0, 127] (relaxed SIMD). As in q8.ts, the i16
 * relaxed dot plus a pairwise widening (binaryen miscompiles the i32 accumulate form).
 */
// @ts-ignore: decorator
@inline function rdot16(v: v128, x0: v128, x1: v128): v128 {
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(lowCodes(v), x0)),
    i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(highCodes(v), x1)));
}

/** out (T, M) = q4 W (M, K) · activations, rows [m0, m1) (multiples of 4, or M). */
export function q4_matmul(
  out: usize,    // (T, M) f32
  q: usize,      // (T, K) i16 (7-bit values)
  qu: usize,     // (T, K) u8 (the same values + 64)
  scales: usize, // (T, K/32) f32
  w: usize,      // q4x4 (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const G = K >> 5, blockBytes = <usize>G * 96;
  for (let m = m0; m < m1; m += 4) {
    const blk = w + <usize>(m >> 2) * blockBytes;
    for (let t = 0; t < T; t++) {
      const st = scales + ((<usize>(t * G)) << 2);
      let acc = f32x4.splat(0);
      let p = blk;
      if (ASC_FEATURE_RELAXED_SIMD) {
        const qt = qu + <usize>t * <usize>K;
        for (let j = 0; j < G; j++) {
          const x0 = v128.load(qt + <usize>(j << 5)), x1 = v128.load(qt + <usize>(j << 5), 16);
          const rows = i32x4.sub(rows4(rdot16(v128.load(p), x0, x1), rdot16(v128.load(p, 16), x0, x1), rdot16(v128.load(p, 32), x0, x1), rdot16(v128.load(p, 48), x0, x1)),
            i32x4.shl(v128.load(p, 80), 6));
          acc = f32x4.add(acc, f32x4.mul(f32x4.mul(v128.load(p, 64), f32x4.splat(load<f32>(st + (<usize>j << 2)))), f32x4.convert_i32x4_s(rows)));
          p += 96;
        }
      } else {
        const qt = q + ((<usize>t * <usize>K) << 1);
        for (let j = 0; j < G; j++) {
          const xq = qt + (<usize>(j << 5) << 1);
          const x0 = v128.load(xq), x1 = v128.load(xq, 16), x2 = v128.load(xq, 32), x3 = v128.load(xq, 48);
          const rows = rows4(dot16(v128.load(p), x0, x1, x2, x3), dot16(v128.load(p, 16), x0, x1, x2, x3), dot16(v128.load(p, 32), x0, x1, x2, x3), dot16(v128.load(p, 48), x0, x1, x2, x3));
          acc = f32x4.add(acc, f32x4.mul(f32x4.mul(v128.load(p, 64), f32x4.splat(load<f32>(st + (<usize>j << 2)))), f32x4.convert_i32x4_s(rows)));
          p += 96;
        }
      }
      store4(out + ((<usize>t * <usize>M + <usize>m) << 2), m, m1, acc);
    }
  }
}
