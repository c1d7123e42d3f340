// Small SIMD helpers shared by the kernels; all of them are inlined into their callers.

/** Sum of the four f32 lanes of `v`. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1)); // (a+c, b+d, c+a, d+b)
  const t = f32x4.add(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2));
  return f32x4.extract_lane(t, 0);
}

/** acc + a·b: one fused instruction in the relaxed build, mul then add in the baseline build. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// exp(x) on four lanes. x = n·ln2 + r with |r| ≤ ln2/2 (two-constant Cody–Waite reduction), e^r by its
// degree-6 Taylor polynomial (relative error below 2e-7 on that range), 2^n assembled in the exponent bits.
// Inputs are clamped to [-87.3, 88.7] so the result is never inf nor a denormal (softmax passes x ≤ 0).
// @ts-ignore: decorator
@inline export function expf4(x: v128): v128 {
  x = f32x4.max(f32x4.min(x, f32x4.splat(88.7)), f32x4.splat(-87.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.4426950408889634)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.3888889e-3);
  p = madd(p, r, f32x4.splat(8.3333333e-3));
  p = madd(p, r, f32x4.splat(4.1666667e-2));
  p = madd(p, r, f32x4.splat(1.6666667e-1));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2n);
}
