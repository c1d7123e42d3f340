// Popcount-over-bitplanes kernels for fdb2 matrices (the product card's original design): the same function as
// fdb_matmul_ref, out[t, m] = Σ_groups s[t,j]·(α1·Σ b1·q + α2·Σ b2·q), computed with AND + popcount on 64 columns
// at a time instead of lookup tables (fdb-lut.ts). Slower than the LUT kernel here (research/kernels.md); it is
// kept so the choice can be measured and shown (`kernel: 'popcount'`).
//
// Activation bit planes: an int8 q in two's complement is q = -128·q7 + Σ_{bit<7} 2^bit·q_bit, so for one 64-column
// word of a weight plane B
//   Σ_i b_i·q_i = Σ_{bit=0..6} 2^bit·popcnt(B & Q_bit) − 128·popcnt(B & Q_7).
// This is the offset-binary form x_u = q + 128 ∈ [1, 255] (Σ 2^bit·popcnt(B & X_bit) − 128·popcnt(B)) with the
// correction folded into the top plane: X_bit = Q_bit for bit < 7 and X_7 = ~Q_7, so popcnt(B & X_7) − popcnt(B) =
// −popcnt(B & Q_7). Same 8 AND + popcounts per word and plane, no per-group correction term, no popcnt(B) to store.
// The 8 terms are summed by Horner's rule from bit 7 down (h = 2h + popcnt), one shift-add per term.
//
// Activation planes layout ("pop planes", built by fdb_pop_prepare): per token, per 128 columns (the last 128 are
// zero-padded when K % 128 = 64), 8 planes × 16 bytes: plane `bit` = two u64 words (columns 0..63, 64..127), bit i
// of a word = column i of those 64 (little-endian). Token stride = ceil(K/128)·128 bytes (fdb_pop_planes_bytes).
// The bits of 64-column word w (global) lie at token + (w >> 1)·128 + (w & 1)·8 + 16·bit.
//
// Runtime weight layout ("pop64"), repacked at load from the stored layout: row after row (no padding, no row
// blocks: any row range [m0, m1) is valid, so threads can split at any row); in a row, group after group; in a
// group, for each 128 columns: 16 bytes of plane b1 then 16 bytes of plane b2 (two u64 words each), then, when
// g % 128 = 64, the last 64 columns as 8 bytes of b1 then 8 bytes of b2; then α1, α2 as f32. So a group is
// g/4 + 8 bytes and, for g = 64, [b1 | b2] is one v128. Bit i of a u64 word = column i of its 64 (the stored bit
// order, read as little-endian u64). Every word is 8-byte aligned when w is.
//
// Both kernels compute the integer sums exactly and apply the scales in the reference's order
// (acc += s·(α1·P1 + α2·P2), group by group from acc = 0), so they match fdb_matmul_ref bit for bit.
import { f16to32, storedGroupBytes } from "./fdb-common";

/** Bytes of the pop64 layout of an (M, K) fdb2 matrix with group size g (a multiple of 64). */
export function fdb_pop_bytes(M: i32, K: i32, g: i32): usize {
  return <usize>M * <usize>(K / g) * <usize>((g >> 2) + 8);
}

/** Bytes of the activation bit planes of T rows of K int8 (fdb_pop_prepare's output). */
export function fdb_pop_planes_bytes(T: i32, K: i32): usize {
  return <usize>T * (<usize>((K + 127) >> 7) << 7);
}

/** Repacks rows [r0, r0+n) from the stored layout (src: n rows) into the pop64 layout at w. */
export function fdb_pack_pop(
  w: usize,   // pop64 (M, K) out
  src: usize, // stored fdb2 (n, K)
  n: i32, K: i32, g: i32, r0: i32,
): void {
  const G = K / g, gb = storedGroupBytes(g), pb = g >> 3, full = g >> 7;
  const groupBytes = <usize>((g >> 2) + 8), rowBytes = <usize>G * groupBytes;
  for (let i = 0; i < n; i++) {
    const row = src + <usize>i * <usize>(G * gb);
    let d = w + <usize>(r0 + i) * rowBytes;
    for (let j = 0; j < G; j++) {
      const s = row + <usize>(j * gb);
      for (let c = 0; c < full; c++) {
        v128.store(d, v128.load(s + <usize>(c << 4)));
        v128.store(d, v128.load(s + <usize>(pb + (c << 4))), 16);
        d += 32;
      }
      if (g & 64) {
        store<u64>(d, load<u64>(s + <usize>(full << 4)));
        store<u64>(d, load<u64>(s + <usize>(pb + (full << 4))), 8);
        d += 16;
      }
      store<f32>(d, f16to32(load<u16>(s + <usize>(2 * pb))));
      store<f32>(d, f16to32(load<u16>(s + <usize>(2 * pb + 2))), 4);
      d += 8;
    }
  }
}

/**
 * Transposes T rows of int8 activations into bit planes (layout above): 16 columns at a time, plane `bit` is the
 * sign mask (i8x16.bitmask) of the bytes shifted left by 7 − bit.
 */
export function fdb_pop_prepare(
  planes: usize, // (T, ceil(K/128), 8, 16) bytes out
  q: usize,      // (T, K) i8
  T: i32, K: i32,
): void {
  const chunks = (K + 127) >> 7;
  for (let t = 0; t < T; t++) {
    const qt = q + <usize>t * <usize>K;
    let d = planes + (<usize>(t * chunks) << 7);
    for (let ch = 0; ch < chunks; ch++) {
      for (let c = 0; c < 8; c++) {
        const col = (ch << 7) + (c << 4);
        // K is a multiple of 64: a 16-column block is either all inside or all padding
        const v = col < K ? v128.load(qt + <usize>col) : i8x16.splat(0);
        const o = d + <usize>(c << 1);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 7)), 0);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 6)), 16);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 5)), 32);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 4)), 48);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 3)), 64);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 2)), 80);
        store<u16>(o, <u16>i8x16.bitmask(i16x8.shl(v, 1)), 96);
        store<u16>(o, <u16>i8x16.bitmask(v), 112);
      }
      d += 128;
    }
  }
}

// Address of 64-column word `wd` (bit plane 0) in one token's planes.
// @ts-ignore: decorator
@inline function wordAt(tp: usize, wd: i32): usize {
  return tp + (<usize>(wd >> 1) << 7) + (<usize>(wd & 1) << 3);
}

/**
 * out (T, M) f32 = fdb2 W (M, K) · activations for rows [m0, m1), scalar i64.popcnt. Row granularity is one
 * row: any 0 ≤ m0 ≤ m1 ≤ M is valid. `planes` come from quantize_act_i8 + fdb_pop_prepare, `scales` from
 * quantize_act_i8. Prefill (T > 1): row-major over tokens, so each row's weights (G·(g/4 + 8) bytes, 1.3 KB for
 * K = 2048 g128) stay in L1 while all T tokens pass over them.
 */
export function fdb_matmul_pop(
  out: usize,    // (T, M) f32
  planes: usize, // (T, ceil(K/128), 8, 16) bytes: activation bit planes
  scales: usize, // (T, K/g) f32 activation scales
  w: usize,      // pop64 (M, K)
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  const G = K / g;
  const rowBytes = <usize>G * <usize>((g >> 2) + 8);
  const stride = <usize>((K + 127) >> 7) << 7;
  const sstride = <usize>G << 2, ostride = <usize>M << 2;
  for (let m = m0; m < m1; m++) {
    const row = w + <usize>m * rowBytes;
    let tp = planes, st = scales, o = out + (<usize>m << 2);
    // tokens in pairs: two call sites also keep binaryen from inlining the row loops (see below)
    let t = 0;
    for (; t + 1 < T; t += 2) {
      let a: f32, b: f32;
      if (g == 128) {
        a = rowPop128(row, tp, st, G); b = rowPop128(row, tp + stride, st + sstride, G);
      } else if (g == 64) {
        a = rowPop64(row, tp, st, G); b = rowPop64(row, tp + stride, st + sstride, G);
      } else if ((g & 127) == 0) {
        a = rowPop256(row, tp, st, G, g >> 7); b = rowPop256(row, tp + stride, st + sstride, G, g >> 7);
      } else {
        a = rowPopAny(row, tp, st, G, g); b = rowPopAny(row, tp + stride, st + sstride, G, g);
      }
      store<f32>(o, a); store<f32>(o + ostride, b);
      tp += stride << 1; st += sstride << 1; o += ostride << 1;
    }
    if (t < T) {
      store<f32>(o, g == 128 ? rowPop128(row, tp, st, G) : g == 64 ? rowPop64(row, tp, st, G)
        : (g & 127) == 0 ? rowPop256(row, tp, st, G, g >> 7) : rowPopAny(row, tp, st, G, g));
    }
  }
}

// The row loops below are separate, non-inlined functions so that V8 keeps their few live values in registers
// (x64 leaves ~12 for them; inlined into the token and row loops, weight words spill). The bit planes are walked
// by a loop that V8 unrolls: written unrolled here, binaryen and V8 load all 8 (or 16) activation words up front
// and they spill (measured ~1.4× slower). Horner's rule runs from bit 7 (weight −128) down: h = 2h + popcnt, which
// x64 does in one lea.

// One row · one token, g = 128: one 128-column chunk per group, aligned to the activation chunks.
function rowPop128(p: usize, xa: usize, st: usize, G: i32): f32 {
  let acc: f32 = 0;
  for (let j = 0; j < G; j++) {
    const b10 = load<u64>(p), b11 = load<u64>(p, 8), b20 = load<u64>(p, 16), b21 = load<u64>(p, 24);
    let x0 = load<u64>(xa, 112), x1 = load<u64>(xa, 120);
    let h1: u64 = 0 - (popcnt(b10 & x0) + popcnt(b11 & x1));
    let h2: u64 = 0 - (popcnt(b20 & x0) + popcnt(b21 & x1));
    for (let xb = xa + 96; xb != xa - 16; xb -= 16) {
      x0 = load<u64>(xb); x1 = load<u64>(xb, 8);
      h1 = (h1 << 1) + (popcnt(b10 & x0) + popcnt(b11 & x1));
      h2 = (h2 << 1) + (popcnt(b20 & x0) + popcnt(b21 & x1));
    }
    acc += load<f32>(st + (<usize>j << 2)) * (load<f32>(p, 32) * <f32><i32>h1 + load<f32>(p, 36) * <f32><i32>h2);
    p += 40; xa += 128;
  }
  return acc;
}

// One row · one token, g a multiple of 256: several aligned 128-column chunks per group.
function rowPop256(p: usize, xa: usize, st: usize, G: i32, chunks: i32): f32 {
  let acc: f32 = 0;
  for (let j = 0; j < G; j++) {
    let s1: u64 = 0, s2: u64 = 0;
    for (let c = 0; c < chunks; c++) {
      const b10 = load<u64>(p), b11 = load<u64>(p, 8), b20 = load<u64>(p, 16), b21 = load<u64>(p, 24);
      let x0 = load<u64>(xa, 112), x1 = load<u64>(xa, 120);
      let h1: u64 = 0 - (popcnt(b10 & x0) + popcnt(b11 & x1));
      let h2: u64 = 0 - (popcnt(b20 & x0) + popcnt(b21 & x1));
      for (let xb = xa + 96; xb != xa - 16; xb -= 16) {
        x0 = load<u64>(xb); x1 = load<u64>(xb, 8);
        h1 = (h1 << 1) + (popcnt(b10 & x0) + popcnt(b11 & x1));
        h2 = (h2 << 1) + (popcnt(b20 & x0) + popcnt(b21 & x1));
      }
      s1 += h1; s2 += h2;
      p += 32; xa += 128;
    }
    acc += load<f32>(st + (<usize>j << 2)) * (load<f32>(p) * <f32><i32>s1 + load<f32>(p, 4) * <f32><i32>s2);
    p += 8;
  }
  return acc;
}

// One row · one token, g = 64: one word per group and plane.
function rowPop64(p: usize, tp: usize, st: usize, G: i32): f32 {
  let acc: f32 = 0;
  for (let j = 0; j < G; j++) {
    const b1 = load<u64>(p), b2 = load<u64>(p, 8);
    const xa = wordAt(tp, j);
    let x = load<u64>(xa, 112);
    let h1: u64 = 0 - popcnt(b1 & x), h2: u64 = 0 - popcnt(b2 & x);
    for (let xb = xa + 96; xb != xa - 16; xb -= 16) {
      x = load<u64>(xb);
      h1 = (h1 << 1) + popcnt(b1 & x);
      h2 = (h2 << 1) + popcnt(b2 & x);
    }
    acc += load<f32>(st + (<usize>j << 2)) * (load<f32>(p, 16) * <f32><i32>h1 + load<f32>(p, 20) * <f32><i32>h2);
    p += 24;
  }
  return acc;
}

// One row · one token, any other g (an odd multiple of 64 ≥ 192): word by word.
function rowPopAny(p: usize, tp: usize, st: usize, G: i32, g: i32): f32 {
  const full = g >> 7;
  let acc: f32 = 0, wd = 0;
  for (let j = 0; j < G; j++) {
    let s1: u64 = 0, s2: u64 = 0;
    for (let c = 0; c < full; c++) {
      s1 += dotWord(load<u64>(p), wordAt(tp, wd)) + dotWord(load<u64>(p, 8), wordAt(tp, wd + 1));
      s2 += dotWord(load<u64>(p, 16), wordAt(tp, wd)) + dotWord(load<u64>(p, 24), wordAt(tp, wd + 1));
      p += 32; wd += 2;
    }
    s1 += dotWord(load<u64>(p), wordAt(tp, wd));
    s2 += dotWord(load<u64>(p, 8), wordAt(tp, wd));
    p += 16; wd += 1;
    acc += load<f32>(st + (<usize>j << 2)) * (load<f32>(p) * <f32><i32>s1 + load<f32>(p, 4) * <f32><i32>s2);
    p += 8;
  }
  return acc;
}

// Σ_i b_i·q_i over one 64-column word (xa: the word's bit plane 0).
function dotWord(b: u64, xa: usize): u64 {
  let h: u64 = 0 - popcnt(b & load<u64>(xa, 112));
  for (let xb = xa + 96; xb != xa - 16; xb -= 16) h = (h << 1) + popcnt(b & load<u64>(xb));
  return h;
}

// One SIMD Horner step: 2h + popcnt per byte of (b & x), in 8-bit lanes.
// @ts-ignore: decorator
@inline function vstep(h: v128, b: v128, x: v128): v128 {
  return i8x16.add(i8x16.add(h, h), i8x16.popcnt(v128.and(b, x)));
}

// Σ over the bytes of one plane's Horner halves: 16·hi + lo, widened and summed pairwise into i32x4.
// hi ∈ [−64, 56] (bits 7..4), lo ∈ [0, 120] (bits 3..0) per byte, so 8-bit Horner never overflows.
// @ts-ignore: decorator
@inline function vreduce(hi: v128, lo: v128): v128 {
  const v = i16x8.add(i16x8.shl(i16x8.extadd_pairwise_i8x16_s(hi), 4), i16x8.extadd_pairwise_i8x16_u(lo));
  return i32x4.dot_i16x8_s(v, i16x8.splat(1));
}

// Both planes against 128 columns whose activation words are contiguous (xa: word wd, wd even): i32x4 lanes
// 0, 1 = partial sums of b1, lanes 2, 3 = of b2.
// @ts-ignore: decorator
@inline function dot128(b1: v128, b2: v128, xa: usize): v128 {
  let x = v128.load(xa, 112);
  const zero = i8x16.splat(0);
  let h1 = i8x16.sub(zero, i8x16.popcnt(v128.and(b1, x))), h2 = i8x16.sub(zero, i8x16.popcnt(v128.and(b2, x)));
  x = v128.load(xa, 96); h1 = vstep(h1, b1, x); h2 = vstep(h2, b2, x);
  x = v128.load(xa, 80); h1 = vstep(h1, b1, x); h2 = vstep(h2, b2, x);
  x = v128.load(xa, 64); h1 = vstep(h1, b1, x); h2 = vstep(h2, b2, x);
  x = v128.load(xa, 48);
  let l1 = i8x16.popcnt(v128.and(b1, x)), l2 = i8x16.popcnt(v128.and(b2, x));
  x = v128.load(xa, 32); l1 = vstep(l1, b1, x); l2 = vstep(l2, b2, x);
  x = v128.load(xa, 16); l1 = vstep(l1, b1, x); l2 = vstep(l2, b2, x);
  x = v128.load(xa); l1 = vstep(l1, b1, x); l2 = vstep(l2, b2, x);
  const u = vreduce(h1, l1), v = vreduce(h2, l2);
  return i32x4.add(i32x4.shuffle(u, v, 0, 1, 4, 5), i32x4.shuffle(u, v, 2, 3, 6, 7));
}

// Both planes of one 64-column word, b = [b1 | b2], against activation word xa splatted to both halves: same lanes.
// @ts-ignore: decorator
@inline function dot64(b: v128, xa: usize): v128 {
  let x = v128.load64_splat(xa, 112);
  let h = i8x16.sub(i8x16.splat(0), i8x16.popcnt(v128.and(b, x)));
  x = v128.load64_splat(xa, 96); h = vstep(h, b, x);
  x = v128.load64_splat(xa, 80); h = vstep(h, b, x);
  x = v128.load64_splat(xa, 64); h = vstep(h, b, x);
  x = v128.load64_splat(xa, 48);
  let l = i8x16.popcnt(v128.and(b, x));
  x = v128.load64_splat(xa, 32); l = vstep(l, b, x);
  x = v128.load64_splat(xa, 16); l = vstep(l, b, x);
  x = v128.load64_splat(xa); l = vstep(l, b, x);
  return vreduce(h, l);
}

/**
 * Same function as fdb_matmul_pop, with i8x16.popcnt (16 or 8+8 columns per lane group) instead of scalar
 * popcounts: per 128 columns, b1 and b2 are one v128 each; for g = 64, [b1 | b2] is one v128 against the
 * activation word splatted to both halves. Rows [m0, m1), any range; T ≥ 1.
 */
export function fdb_matmul_pop_simd(
  out: usize,    // (T, M) f32
  planes: usize, // (T, ceil(K/128), 8, 16) bytes: activation bit planes
  scales: usize, // (T, K/g) f32 activation scales
  w: usize,      // pop64 (M, K)
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  const G = K / g;
  const rowBytes = <usize>G * <usize>((g >> 2) + 8);
  const stride = <usize>((K + 127) >> 7) << 7;
  const sstride = <usize>G << 2, ostride = <usize>M << 2;
  for (let m = m0; m < m1; m++) {
    const row = w + <usize>m * rowBytes;
    let tp = planes, st = scales, o = out + (<usize>m << 2);
    let t = 0;
    for (; t + 1 < T; t += 2) { // two call sites: not inlined (see fdb_matmul_pop)
      let a: f32, b: f32;
      if (g == 128) {
        a = rowSimd128(row, tp, st, G); b = rowSimd128(row, tp + stride, st + sstride, G);
      } else {
        a = rowSimdAny(row, tp, st, G, g); b = rowSimdAny(row, tp + stride, st + sstride, G, g);
      }
      store<f32>(o, a); store<f32>(o + ostride, b);
      tp += stride << 1; st += sstride << 1; o += ostride << 1;
    }
    if (t < T) store<f32>(o, g == 128 ? rowSimd128(row, tp, st, G) : rowSimdAny(row, tp, st, G, g));
  }
}

// One row · one token, g = 128.
function rowSimd128(p: usize, xa: usize, st: usize, G: i32): f32 {
  let acc: f32 = 0;
  for (let j = 0; j < G; j++) {
    let z = dot128(v128.load(p), v128.load(p, 16), xa);
    z = i32x4.add(z, i32x4.shuffle(z, z, 1, 0, 3, 2));
    acc += load<f32>(st + (<usize>j << 2)) * (load<f32>(p, 32) * <f32>i32x4.extract_lane(z, 0) + load<f32>(p, 36) * <f32>i32x4.extract_lane(z, 2));
    p += 40; xa += 128;
  }
  return acc;
}

// One row · one token, any g (a multiple of 64).
function rowSimdAny(p: usize, tp: usize, st: usize, G: i32, g: i32): f32 {
  const full = g >> 7, half = g & 64;
  let acc: f32 = 0, wd = 0;
  for (let j = 0; j < G; j++) {
    // lanes: 0, 1 = partial sums of plane b1; 2, 3 = of plane b2
    let z = i32x4.splat(0);
    for (let c = 0; c < full; c++) {
      const b1 = v128.load(p), b2 = v128.load(p, 16);
      if ((wd & 1) == 0) {
        z = i32x4.add(z, dot128(b1, b2, wordAt(tp, wd)));
      } else { // 128 columns straddling two activation chunks (only when g/64 is odd and g > 64)
        z = i32x4.add(z, dot64(i64x2.shuffle(b1, b2, 0, 2), wordAt(tp, wd)));
        z = i32x4.add(z, dot64(i64x2.shuffle(b1, b2, 1, 3), wordAt(tp, wd + 1)));
      }
      p += 32; wd += 2;
    }
    if (half) {
      z = i32x4.add(z, dot64(v128.load(p), wordAt(tp, wd))); // [b1 | b2]
      p += 16; wd += 1;
    }
    z = i32x4.add(z, i32x4.shuffle(z, z, 1, 0, 3, 2));
    acc += load<f32>(st + (<usize>j << 2)) * (load<f32>(p) * <f32>i32x4.extract_lane(z, 0) + load<f32>(p, 4) * <f32>i32x4.extract_lane(z, 2));
    p += 8;
  }
  return acc;
}
