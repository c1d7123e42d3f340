// Dense f32 matrix products: out (T, M) = x (T, K) · W (M, K)ᵀ, computed for output rows [m0, m1) only so
// that a worker pool can split one product by rows. Weights are row-major (one output row = K contiguous f32),
// the layout of PyTorch's Linear.weight and of GGUF's ne = [K, M].
import { hsum, madd } from "./simd";

/** Scalar reference (test oracle and no-SIMD fallback). */
export function matmul_f32_ref(
  out: usize, // (T, M) f32
  x: usize,   // (T, K) f32
  w: usize,   // (M, K) f32
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  for (let t = 0; t < T; t++) {
    const xt = x + ((<usize>t * <usize>K) << 2);
    for (let m = m0; m < m1; m++) {
      const wm = w + ((<usize>m * <usize>K) << 2);
      let s: f32 = 0;
      for (let k = 0; k < K; k++) s += load<f32>(xt + (<usize>k << 2)) * load<f32>(wm + (<usize>k << 2));
      store<f32>(out + ((<usize>t * <usize>M + <usize>m) << 2), s);
    }
  }
}

/** Sum over the K % 4 tail columns of one dot product. */
// @ts-ignore: decorator
@inline function dotTail(a: usize, b: usize, k0: i32, K: i32): f32 {
  let s: f32 = 0;
  for (let k = k0; k < K; k++) s += load<f32>(a + (<usize>k << 2)) * load<f32>(b + (<usize>k << 2));
  return s;
}

/**
 * SIMD product. Tiles of 4 weight rows × 2 tokens keep 8 accumulators + 6 operands in the 16 vector
 * registers V8 has on x86; a 4-row block (4·K floats) stays in L1 while all tokens stream past it.
 */
export function matmul_f32(
  out: usize, // (T, M) f32
  x: usize,   // (T, K) f32
  w: usize,   // (M, K) f32
  T: i32, K: i32, M: i32, m0: i32, m1: i32,
): void {
  const K4 = K & ~3;
  const rowBytes = <usize>K << 2;
  const outRow = <usize>M << 2;
  let m = m0;
  for (; m + 4 <= m1; m += 4) {
    const w0 = w + <usize>m * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
    let t = 0;
    for (; t + 2 <= T; t += 2) {
      const x0 = x + <usize>t * rowBytes, x1 = x0 + rowBytes;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const v0 = v128.load(x0 + o), v1 = v128.load(x1 + o);
        const r0 = v128.load(w0 + o), r1 = v128.load(w1 + o), r2 = v128.load(w2 + o), r3 = v128.load(w3 + o);
        a00 = madd(r0, v0, a00); a01 = madd(r1, v0, a01); a02 = madd(r2, v0, a02); a03 = madd(r3, v0, a03);
        a10 = madd(r0, v1, a10); a11 = madd(r1, v1, a11); a12 = madd(r2, v1, a12); a13 = madd(r3, v1, a13);
      }
      const o0 = out + <usize>t * outRow + (<usize>m << 2), o1 = o0 + outRow;
      store<f32>(o0, hsum(a00) + dotTail(x0, w0, K4, K));
      store<f32>(o0 + 4, hsum(a01) + dotTail(x0, w1, K4, K));
      store<f32>(o0 + 8, hsum(a02) + dotTail(x0, w2, K4, K));
      store<f32>(o0 + 12, hsum(a03) + dotTail(x0, w3, K4, K));
      store<f32>(o1, hsum(a10) + dotTail(x1, w0, K4, K));
      store<f32>(o1 + 4, hsum(a11) + dotTail(x1, w1, K4, K));
      store<f32>(o1 + 8, hsum(a12) + dotTail(x1, w2, K4, K));
      store<f32>(o1 + 12, hsum(a13) + dotTail(x1, w3, K4, K));
    }
    if (t < T) {
      // One token left (and the whole decode case): two accumulators per row hide the add latency.
      const x0 = x + <usize>t * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let k = 0;
      for (; k + 8 <= K4; k += 8) {
        const o = <usize>k << 2;
        const v = v128.load(x0 + o), u = v128.load(x0 + o + 16);
        a0 = madd(v128.load(w0 + o), v, a0); b0 = madd(v128.load(w0 + o + 16), u, b0);
        a1 = madd(v128.load(w1 + o), v, a1); b1 = madd(v128.load(w1 + o + 16), u, b1);
        a2 = madd(v128.load(w2 + o), v, a2); b2 = madd(v128.load(w2 + o + 16), u, b2);
        a3 = madd(v128.load(w3 + o), v, a3); b3 = madd(v128.load(w3 + o + 16), u, b3);
      }
      if (k < K4) {
        const o = <usize>k << 2;
        const v = v128.load(x0 + o);
        a0 = madd(v128.load(w0 + o), v, a0); a1 = madd(v128.load(w1 + o), v, a1);
        a2 = madd(v128.load(w2 + o), v, a2); a3 = madd(v128.load(w3 + o), v, a3);
      }
      const o0 = out + <usize>t * outRow + (<usize>m << 2);
      store<f32>(o0, hsum(f32x4.add(a0, b0)) + dotTail(x0, w0, K4, K));
      store<f32>(o0 + 4, hsum(f32x4.add(a1, b1)) + dotTail(x0, w1, K4, K));
      store<f32>(o0 + 8, hsum(f32x4.add(a2, b2)) + dotTail(x0, w2, K4, K));
      store<f32>(o0 + 12, hsum(f32x4.add(a3, b3)) + dotTail(x0, w3, K4, K));
    }
  }
  for (; m < m1; m++) {
    const wm = w + <usize>m * rowBytes;
    for (let t = 0; t < T; t++) {
      const xt = x + <usize>t * rowBytes;
      let a = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) a = madd(v128.load(wm + (<usize>k << 2)), v128.load(xt + (<usize>k << 2)), a);
      store<f32>(out + <usize>t * outRow + (<usize>m << 2), hsum(a) + dotTail(xt, wm, K4, K));
    }
  }
}
