// Dense f32 matrix products: out (T, M) = x (T, K) · W (M, K)ᵀ, for output rows [m0, m1) only so that a
// worker pool can split one product by rows (m0 and m1 multiples of 8, or M).
//
// Weights are repacked at load into blocks of 8 rows ("f32x8"): block b holds rows 8b..8b+7, and inside it,
// for each group of 4 columns (a "quad"), the 8 rows' 4 values one after another — 128 bytes per quad. A
// matrix-vector product then reads each block as one sequential stream, which streams from DRAM about 1.4×
// faster in wasm than 4–8 separate row streams. K is padded to a multiple of 4 and M to a multiple of 8 with
// zeros; the kernels never read x beyond K.
import { hsum, madd } from "./simd";

// @ts-ignore: decorator
@inline const ROWS: i32 = 8;

/** x[k0 .. k0+3] with zeros beyond K (the last, partial quad). */
// @ts-ignore: decorator
@inline function loadTail(x: usize, k0: i32, K: i32): v128 {
  let v = f32x4.splat(0);
  if (k0 < K) v = f32x4.replace_lane(v, 0, load<f32>(x + (<usize>k0 << 2)));
  if (k0 + 1 < K) v = f32x4.replace_lane(v, 1, load<f32>(x + (<usize>(k0 + 1) << 2)));
  if (k0 + 2 < K) v = f32x4.replace_lane(v, 2, load<f32>(x + (<usize>(k0 + 2) << 2)));
  return v;
}

/** Bytes of a packed (M, K) matrix. */
export function f32x8_bytes(M: i32, K: i32): usize {
  return <usize>((M + 7) >> 3) * <usize>((K + 3) >> 2) * 128;
}

/** Packs rows [r0, r0 + n) of a row-major f32 matrix (n, K) into the packed matrix at `w`. */
export function pack_f32x8(
  w: usize,   // packed (M, K)
  src: usize, // (n, K) f32, row-major
  n: i32, K: i32, r0: i32,
): void {
  const quads = (K + 3) >> 2;
  const blockBytes = <usize>quads * 128;
  for (let i = 0; i < n; i++) {
    const r = r0 + i;
    const dst = w + <usize>(r >> 3) * blockBytes + (<usize>(r & 7) << 4);
    const s = src + ((<usize>i * <usize>K) << 2);
    const full = K >> 2;
    for (let q = 0; q < full; q++) v128.store(dst + (<usize>q << 7), v128.load(s + (<usize>q << 4)));
    if (full < quads) v128.store(dst + (<usize>full << 7), loadTail(s, full << 2, K));
  }
}

/** Copies row `row` of a packed matrix out as K contiguous f32 (the embedding look-up of a tied head). */
export function unpack_row_f32x8(out: usize /* (K) f32 */, w: usize /* packed (M, K) */, K: i32, row: i32): void {
  const quads = (K + 3) >> 2;
  const base = w + <usize>(row >> 3) * <usize>quads * 128 + (<usize>(row & 7) << 4);
  const full = K >> 2;
  for (let q = 0; q < full; q++) v128.store(out + (<usize>q << 4), v128.load(base + (<usize>q << 7)));
  for (let k = full << 2; k < K; k++) store<f32>(out + (<usize>k << 2), load<f32>(base + (<usize>full << 7) + (<usize>(k & 3) << 2)));
}

/** Scalar reference over the packed layout (test oracle and no-SIMD fallback). */
export function matmul_f32_ref(
  out: usize, // (T, M) f32
  x: usize,   // (T, K) f32
  w: usize,   // packed (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const quads = (K + 3) >> 2;
  for (let t = 0; t < T; t++) {
    const xt = x + ((<usize>t * <usize>K) << 2);
    for (let m = m0; m < m1; m++) {
      const row = w + <usize>(m >> 3) * <usize>quads * 128 + (<usize>(m & 7) << 4);
      let s: f32 = 0;
      for (let k = 0; k < K; k++) s += load<f32>(xt + (<usize>k << 2)) * load<f32>(row + (<usize>(k >> 2) << 7) + (<usize>(k & 3) << 2));
      store<f32>(out + ((<usize>t * <usize>M + <usize>m) << 2), s);
    }
  }
}

/** Stores the 8 sums of a block, skipping rows at or beyond `end` (padding rows of the last block). */
// @ts-ignore: decorator
@inline function store8(o: usize, m: i32, end: i32, a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, a6: v128, a7: v128): void {
  if (m + 8 <= end) {
    store<f32>(o, hsum(a0)); store<f32>(o + 4, hsum(a1)); store<f32>(o + 8, hsum(a2)); store<f32>(o + 12, hsum(a3));
    store<f32>(o + 16, hsum(a4)); store<f32>(o + 20, hsum(a5)); store<f32>(o + 24, hsum(a6)); store<f32>(o + 28, hsum(a7));
    return;
  }
  const n = end - m;
  if (n > 0) store<f32>(o, hsum(a0));
  if (n > 1) store<f32>(o + 4, hsum(a1));
  if (n > 2) store<f32>(o + 8, hsum(a2));
  if (n > 3) store<f32>(o + 12, hsum(a3));
  if (n > 4) store<f32>(o + 16, hsum(a4));
  if (n > 5) store<f32>(o + 20, hsum(a5));
  if (n > 6) store<f32>(o + 24, hsum(a6));
}

/** Stores 4 sums (rows m .. m+3), skipping rows at or beyond `end`. */
// @ts-ignore: decorator
@inline function store4(o: usize, m: i32, end: i32, a0: v128, a1: v128, a2: v128, a3: v128): void {
  if (m < end) store<f32>(o, hsum(a0));
  if (m + 1 < end) store<f32>(o + 4, hsum(a1));
  if (m + 2 < end) store<f32>(o + 8, hsum(a2));
  if (m + 3 < end) store<f32>(o + 12, hsum(a3));
}

/**
 * SIMD product over the packed layout. One token: 8 accumulators (one per row of the block), one sequential
 * stream of weights. Several tokens: half-blocks of 4 rows × 2 tokens (8 accumulators + 6 operands fit the
 * 16 vector registers V8 has on x86) while the block stays in cache.
 */
export function matmul_f32(
  out: usize, // (T, M) f32
  x: usize,   // (T, K) f32
  w: usize,   // packed (M, K)
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const quads = (K + 3) >> 2, full = K >> 2;
  const blockBytes = <usize>quads * 128;
  const xRow = <usize>K << 2, outRow = <usize>M << 2;
  for (let m = m0; m < m1; m += ROWS) {
    const blk = w + <usize>(m >> 3) * blockBytes;
    let t = 0;
    if (T == 1) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
      let p = blk;
      for (let q = 0; q < full; q++) {
        const v = v128.load(x + (<usize>q << 4));
        a0 = madd(v128.load(p), v, a0); a1 = madd(v128.load(p, 16), v, a1); a2 = madd(v128.load(p, 32), v, a2); a3 = madd(v128.load(p, 48), v, a3);
        a4 = madd(v128.load(p, 64), v, a4); a5 = madd(v128.load(p, 80), v, a5); a6 = madd(v128.load(p, 96), v, a6); a7 = madd(v128.load(p, 112), v, a7);
        p += 128;
      }
      if (full < quads) {
        const v = loadTail(x, full << 2, K);
        a0 = madd(v128.load(p), v, a0); a1 = madd(v128.load(p, 16), v, a1); a2 = madd(v128.load(p, 32), v, a2); a3 = madd(v128.load(p, 48), v, a3);
        a4 = madd(v128.load(p, 64), v, a4); a5 = madd(v128.load(p, 80), v, a5); a6 = madd(v128.load(p, 96), v, a6); a7 = madd(v128.load(p, 112), v, a7);
      }
      store8(out + (<usize>m << 2), m, m1, a0, a1, a2, a3, a4, a5, a6, a7);
      continue;
    }
    for (let half = 0; half < 2; half++) {
      const hb = blk + (<usize>half << 6), mh = m + (half << 2);
      if (mh >= m1) break;
      for (t = 0; t + 2 <= T; t += 2) {
        const x0 = x + <usize>t * xRow, x1 = x0 + xRow;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
        let p = hb;
        for (let q = 0; q < full; q++) {
          const v = v128.load(x0 + (<usize>q << 4)), u = v128.load(x1 + (<usize>q << 4));
          const r0 = v128.load(p), r1 = v128.load(p, 16), r2 = v128.load(p, 32), r3 = v128.load(p, 48);
          a0 = madd(r0, v, a0); a1 = madd(r1, v, a1); a2 = madd(r2, v, a2); a3 = madd(r3, v, a3);
          b0 = madd(r0, u, b0); b1 = madd(r1, u, b1); b2 = madd(r2, u, b2); b3 = madd(r3, u, b3);
          p += 128;
        }
        if (full < quads) {
          const v = loadTail(x0, full << 2, K), u = loadTail(x1, full << 2, K);
          const r0 = v128.load(p), r1 = v128.load(p, 16), r2 = v128.load(p, 32), r3 = v128.load(p, 48);
          a0 = madd(r0, v, a0); a1 = madd(r1, v, a1); a2 = madd(r2, v, a2); a3 = madd(r3, v, a3);
          b0 = madd(r0, u, b0); b1 = madd(r1, u, b1); b2 = madd(r2, u, b2); b3 = madd(r3, u, b3);
        }
        const o0 = out + <usize>t * outRow + (<usize>mh << 2);
        store4(o0, mh, m1, a0, a1, a2, a3);
        store4(o0 + outRow, mh, m1, b0, b1, b2, b3);
      }
      if (t < T) {
        const x0 = x + <usize>t * xRow;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let p = hb;
        for (let q = 0; q < full; q++) {
          const v = v128.load(x0 + (<usize>q << 4));
          a0 = madd(v128.load(p), v, a0); a1 = madd(v128.load(p, 16), v, a1); a2 = madd(v128.load(p, 32), v, a2); a3 = madd(v128.load(p, 48), v, a3);
          p += 128;
        }
        if (full < quads) {
          const v = loadTail(x0, full << 2, K);
          a0 = madd(v128.load(p), v, a0); a1 = madd(v128.load(p, 16), v, a1); a2 = madd(v128.load(p, 32), v, a2); a3 = madd(v128.load(p, 48), v, a3);
        }
        store4(out + <usize>t * outRow + (<usize>mh << 2), mh, m1, a0, a1, a2, a3);
      }
    }
  }
}
