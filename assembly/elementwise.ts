// Element-wise kernels of the LLaMA block: residual adds, biases, the SwiGLU gate.
import { expf4 } from "./simd";

/** out[i] += x[i] */
export function add_ref(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) { const p = out + (<usize>i << 2); store<f32>(p, load<f32>(p) + load<f32>(x + (<usize>i << 2))); }
}

export function add(out: usize /* (n) f32 */, x: usize /* (n) f32 */, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) { const o = <usize>i << 2; v128.store(out + o, f32x4.add(v128.load(out + o), v128.load(x + o))); }
  for (let i = n4; i < n; i++) { const p = out + (<usize>i << 2); store<f32>(p, load<f32>(p) + load<f32>(x + (<usize>i << 2))); }
}

/** out[r, i] += bias[i] for every row r (q/k/v biases of Qwen2). */
export function add_rows(out: usize /* (rows, n) f32 */, bias: usize /* (n) f32 */, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) add(out + ((<usize>r * <usize>n) << 2), bias, n);
}

/** out[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^-g). out may alias gate or up. */
export function silu_mul_ref(out: usize, gate: usize, up: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, g / (<f32>1 + Mathf.exp(-g)) * load<f32>(up + o));
  }
}

export function silu_mul(out: usize /* (n) f32 */, gate: usize /* (n) f32 */, up: usize /* (n) f32 */, n: i32): void {
  const n4 = n & ~3;
  const one = f32x4.splat(1);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const s = f32x4.div(g, f32x4.add(one, expf4(f32x4.neg(g))));
    v128.store(out + o, f32x4.mul(s, v128.load(up + o)));
  }
  if (n4 < n) silu_mul_ref(out + (<usize>n4 << 2), gate + (<usize>n4 << 2), up + (<usize>n4 << 2), n - n4);
}
