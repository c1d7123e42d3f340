// Rotary position embedding, in place on q or k rows. The host computes one (cos, sin) table per batch
// (it owns the frequency schedule: rope theta, llama3-style scaling, GGUF rope_freqs), so this stays a pure kernel.
// Pair layouts: interleaved (x[2i], x[2i+1]) as in GGUF llama, or half-split (x[i], x[i+rot/2]) as in HF models
// and GGUF qwen2 ("neox"). Dimensions at or beyond `rot` are left as they are (partial rotary).

export function rope_ref(
  x: usize,    // (T, heads, headDim) f32, rotated in place
  cos: usize,  // (T, rot/2) f32
  sin: usize,  // (T, rot/2) f32
  T: i32, heads: i32, headDim: i32, rot: i32, neox: i32,
): void {
  const half = rot >> 1;
  for (let t = 0; t < T; t++) {
    const ct = cos + ((<usize>t * <usize>half) << 2), st = sin + ((<usize>t * <usize>half) << 2);
    for (let h = 0; h < heads; h++) {
      const xh = x + ((<usize>(t * heads + h) * <usize>headDim) << 2);
      for (let i = 0; i < half; i++) {
        const c = load<f32>(ct + (<usize>i << 2)), s = load<f32>(st + (<usize>i << 2));
        const ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
        const a = load<f32>(xh + (<usize>ia << 2)), b = load<f32>(xh + (<usize>ib << 2));
        store<f32>(xh + (<usize>ia << 2), a * c - b * s);
        store<f32>(xh + (<usize>ib << 2), b * c + a * s);
      }
    }
  }
}

export function rope(
  x: usize,    // (T, heads, headDim) f32, rotated in place
  cos: usize,  // (T, rot/2) f32
  sin: usize,  // (T, rot/2) f32
  T: i32, heads: i32, headDim: i32, rot: i32, neox: i32,
): void {
  const half = rot >> 1;
  if ((half & 3) != 0) { rope_ref(x, cos, sin, T, heads, headDim, rot, neox); return; }
  for (let t = 0; t < T; t++) {
    const ct = cos + ((<usize>t * <usize>half) << 2), st = sin + ((<usize>t * <usize>half) << 2);
    for (let h = 0; h < heads; h++) {
      const xh = x + ((<usize>(t * heads + h) * <usize>headDim) << 2);
      if (neox) {
        for (let i = 0; i < half; i += 4) {
          const c = v128.load(ct + (<usize>i << 2)), s = v128.load(st + (<usize>i << 2));
          const pa = xh + (<usize>i << 2), pb = xh + (<usize>(i + half) << 2);
          const a = v128.load(pa), b = v128.load(pb);
          v128.store(pa, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
          v128.store(pb, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
        }
      } else {
        // Four floats = two pairs (a0, b0, a1, b1): out = v·(c0,c0,c1,c1) + (b0,a0,b1,a1)·(-s0,s0,-s1,s1).
        const flip = f32x4(-1, 1, -1, 1);
        for (let i = 0; i < half; i += 2) {
          const p = xh + (<usize>(2 * i) << 2);
          const v = v128.load(p);
          const c2 = v128.load64_splat(ct + (<usize>i << 2)), s2 = v128.load64_splat(st + (<usize>i << 2));
          const c = v128.shuffle<f32>(c2, c2, 0, 0, 1, 1), s = f32x4.mul(v128.shuffle<f32>(s2, s2, 0, 0, 1, 1), flip);
          const sw = v128.shuffle<f32>(v, v, 1, 0, 3, 2);
          v128.store(p, f32x4.add(f32x4.mul(v, c), f32x4.mul(sw, s)));
        }
      }
    }
  }
}
