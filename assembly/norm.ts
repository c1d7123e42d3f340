// RMSNorm over rows: out[r] = x[r] · w / sqrt(mean(x[r]²) + eps). out may alias x.
// Also used per attention head (Qwen3's q/k norms) by passing rows = T·heads, n = headDim.
import { hsum } from "./simd";

export function rmsnorm_ref(
  out: usize, // (rows, n) f32
  x: usize,   // (rows, n) f32
  w: usize,   // (n) f32
  rows: i32, n: i32, eps: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>n) << 2), or = out + ((<usize>r * <usize>n) << 2);
    let ss: f64 = 0;
    for (let i = 0; i < n; i++) { const v = <f64>load<f32>(xr + (<usize>i << 2)); ss += v * v; }
    const scale = <f32>(1.0 / Math.sqrt(ss / <f64>n + <f64>eps));
    for (let i = 0; i < n; i++) store<f32>(or + (<usize>i << 2), load<f32>(xr + (<usize>i << 2)) * scale * load<f32>(w + (<usize>i << 2)));
  }
}

export function rmsnorm(
  out: usize, // (rows, n) f32
  x: usize,   // (rows, n) f32
  w: usize,   // (n) f32
  rows: i32, n: i32, eps: f32,
): void {
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>n) << 2), or = out + ((<usize>r * <usize>n) << 2);
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) { const v = v128.load(xr + (<usize>i << 2)); acc = f32x4.add(acc, f32x4.mul(v, v)); }
    let ss = <f64>hsum(acc);
    for (let i = n4; i < n; i++) { const v = <f64>load<f32>(xr + (<usize>i << 2)); ss += v * v; }
    const scale = <f32>(1.0 / Math.sqrt(ss / <f64>n + <f64>eps));
    const sv = f32x4.splat(scale);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(or + o, f32x4.mul(f32x4.mul(v128.load(xr + o), sv), v128.load(w + o)));
    }
    for (let i = n4; i < n; i++) store<f32>(or + (<usize>i << 2), load<f32>(xr + (<usize>i << 2)) * scale * load<f32>(w + (<usize>i << 2)));
  }
}
