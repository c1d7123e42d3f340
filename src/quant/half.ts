// IEEE half (f16) and bfloat16 conversions. f16 → f32 goes through a 64k-entry table built on first use.

let f16Table: Float32Array | undefined;

function f16Bits(h: number): number {
  const s = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) {
    if (m === 0) return s; // ±0
    // subnormal: normalise
    let mm = m, ee = -1;
    do { mm <<= 1; ee++; } while ((mm & 0x400) === 0);
    return s | ((127 - 15 - ee) << 23) | ((mm & 0x3ff) << 13);
  }
  if (e === 31) return s | 0x7f800000 | (m << 13); // inf / nan
  return s | ((e - 15 + 127) << 23) | (m << 13);
}

export function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16Bits(h) >>> 0;
    f16Table = new Float32Array(bits.buffer);
  }
  return f16Table;
}

export function f16ToF32(h: number): number {
  return f16ToF32Table()[h & 0xffff];
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f32 → f16 with round-to-nearest-even, overflow to ±inf, subnormals kept. */
export function f32ToF16(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
  return sign | h;
}

export function bf16ToF32(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0];
}

/** f32 → bf16, round to nearest even (NaN stays NaN). */
export function f32ToBf16(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
