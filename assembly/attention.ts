// Causal grouped-query attention for a batch of T queries at positions pos0 .. pos0+T-1 against a KV cache
// that already holds keys/values for positions 0 .. pos0+T-1. Query head h reads kv head h / (heads / kvHeads).
// `window` > 0 limits each query to its last `window` positions (Mistral-style sliding window).
// Heads [h0, h1) only, so that a worker pool can split the work by heads. `scores` is per-caller scratch.
import { expf4, hsum, madd } from "./simd";

export function attention_ref(
  out: usize,    // (T, heads, headDim) f32
  q: usize,      // (T, heads, headDim) f32
  kc: usize,     // (ctx, kvHeads, headDim) f32
  vc: usize,     // (ctx, kvHeads, headDim) f32
  scores: usize, // (pos0 + T) f32 scratch
  T: i32, pos0: i32, heads: i32, kvHeads: i32, headDim: i32, window: i32, scale: f32, h0: i32, h1: i32,
): void {
  const group = heads / kvHeads;
  const kvStride = <usize>(kvHeads * headDim) << 2;
  for (let t = 0; t < T; t++) {
    const n = pos0 + t + 1;
    const start = window > 0 && n > window ? n - window : 0;
    for (let h = h0; h < h1; h++) {
      const qh = q + ((<usize>(t * heads + h) * <usize>headDim) << 2);
      const kvOff = <usize>((h / group) * headDim) << 2;
      let mx: f32 = -Infinity;
      for (let p = start; p < n; p++) {
        const kp = kc + <usize>p * kvStride + kvOff;
        let s: f32 = 0;
        for (let d = 0; d < headDim; d++) s += load<f32>(qh + (<usize>d << 2)) * load<f32>(kp + (<usize>d << 2));
        s *= scale;
        store<f32>(scores + (<usize>p << 2), s);
        if (s > mx) mx = s;
      }
      let sum: f32 = 0;
      for (let p = start; p < n; p++) {
        const e = Mathf.exp(load<f32>(scores + (<usize>p << 2)) - mx);
        store<f32>(scores + (<usize>p << 2), e);
        sum += e;
      }
      const oh = out + ((<usize>(t * heads + h) * <usize>headDim) << 2);
      for (let d = 0; d < headDim; d++) {
        let acc: f32 = 0;
        for (let p = start; p < n; p++) acc += load<f32>(scores + (<usize>p << 2)) * load<f32>(vc + <usize>p * kvStride + kvOff + (<usize>d << 2));
        store<f32>(oh + (<usize>d << 2), acc / sum);
      }
    }
  }
}

export function attention(
  out: usize,    // (T, heads, headDim) f32
  q: usize,      // (T, heads, headDim) f32
  kc: usize,     // (ctx, kvHeads, headDim) f32
  vc: usize,     // (ctx, kvHeads, headDim) f32
  scores: usize, // (pos0 + T) f32 scratch, 16-byte aligned
  T: i32, pos0: i32, heads: i32, kvHeads: i32, headDim: i32, window: i32, scale: f32, h0: i32, h1: i32,
): void {
  if ((headDim & 3) != 0) { attention_ref(out, q, kc, vc, scores, T, pos0, heads, kvHeads, headDim, window, scale, h0, h1); return; }
  const group = heads / kvHeads;
  const kvStride = <usize>(kvHeads * headDim) << 2;
  const hdBytes = <usize>headDim << 2;
  for (let t = 0; t < T; t++) {
    const n = pos0 + t + 1;
    const start = window > 0 && n > window ? n - window : 0;
    for (let h = h0; h < h1; h++) {
      const qh = q + <usize>(t * heads + h) * hdBytes;
      const kvOff = <usize>(h / group) * hdBytes;
      // scores = q·k, two accumulators per dot product
      let mx: f32 = -Infinity;
      for (let p = start; p < n; p++) {
        const kp = kc + <usize>p * kvStride + kvOff;
        let a = f32x4.splat(0), b = f32x4.splat(0);
        let d = 0;
        for (; d + 8 <= headDim; d += 8) {
          const o = <usize>d << 2;
          a = madd(v128.load(qh + o), v128.load(kp + o), a);
          b = madd(v128.load(qh + o + 16), v128.load(kp + o + 16), b);
        }
        if (d < headDim) a = madd(v128.load(qh + (<usize>d << 2)), v128.load(kp + (<usize>d << 2)), a);
        const s = hsum(f32x4.add(a, b)) * scale;
        store<f32>(scores + (<usize>p << 2), s);
        if (s > mx) mx = s;
      }
      // softmax numerators, four positions at a time
      const mv = f32x4.splat(mx);
      let sv = f32x4.splat(0);
      let p = start;
      for (; p + 4 <= n; p += 4) {
        const e = expf4(f32x4.sub(v128.load(scores + (<usize>p << 2)), mv));
        v128.store(scores + (<usize>p << 2), e);
        sv = f32x4.add(sv, e);
      }
      let sum = hsum(sv);
      for (; p < n; p++) {
        const e = f32x4.extract_lane(expf4(f32x4.splat(load<f32>(scores + (<usize>p << 2)) - mx)), 0);
        store<f32>(scores + (<usize>p << 2), e);
        sum += e;
      }
      // out = Σ_p score_p · v_p / sum, 32 dimensions at a time in registers (positions in order, so the sums are
      // those of one dimension at a time), then the rest 4 at a time
      const oh = out + <usize>(t * heads + h) * hdBytes;
      const inv = f32x4.splat(<f32>1 / sum);
      let d = 0;
      for (; d + 32 <= headDim; d += 32) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
        let vp = vc + <usize>start * kvStride + kvOff + (<usize>d << 2);
        for (p = start; p < n; p++) {
          const w = f32x4.splat(load<f32>(scores + (<usize>p << 2)));
          a0 = madd(w, v128.load(vp), a0); a1 = madd(w, v128.load(vp, 16), a1);
          a2 = madd(w, v128.load(vp, 32), a2); a3 = madd(w, v128.load(vp, 48), a3);
          a4 = madd(w, v128.load(vp, 64), a4); a5 = madd(w, v128.load(vp, 80), a5);
          a6 = madd(w, v128.load(vp, 96), a6); a7 = madd(w, v128.load(vp, 112), a7);
          vp += kvStride;
        }
        const o = oh + (<usize>d << 2);
        v128.store(o, f32x4.mul(a0, inv)); v128.store(o, f32x4.mul(a1, inv), 16);
        v128.store(o, f32x4.mul(a2, inv), 32); v128.store(o, f32x4.mul(a3, inv), 48);
        v128.store(o, f32x4.mul(a4, inv), 64); v128.store(o, f32x4.mul(a5, inv), 80);
        v128.store(o, f32x4.mul(a6, inv), 96); v128.store(o, f32x4.mul(a7, inv), 112);
      }
      for (; d < headDim; d += 4) {
        let a = f32x4.splat(0);
        let vp = vc + <usize>start * kvStride + kvOff + (<usize>d << 2);
        for (p = start; p < n; p++) { a = madd(f32x4.splat(load<f32>(scores + (<usize>p << 2))), v128.load(vp), a); vp += kvStride; }
        v128.store(oh + (<usize>d << 2), f32x4.mul(a, inv));
      }
    }
  }
}
