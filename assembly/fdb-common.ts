// Shared by the FDB kernels: the stored layout, f16 decoding, and int8 activation quantization.
//
// Stored layout of an fdb2 matrix (M, K) with group size g (what .dbllm files hold, one row after another):
// for each row, for each group of g columns: g/8 bytes of plane b1, g/8 bytes of plane b2 (bit i of byte j is
// column 8j+i of the group, least significant bit first), then α1 and α2 as f16. ŵ = α1·b1 + α2·b2.

/** Bytes of one stored group. */
// @ts-ignore: decorator
@inline export function storedGroupBytes(g: i32): i32 { return (g >> 2) + 4; }

/** IEEE half → f32. */
export function f16to32(h: u32): f32 {
  const s = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) {
    const v = <f32>m * 5.9604644775390625e-8; // m · 2^-24
    return s ? -v : v;
  }
  if (e == 31) return reinterpret<f32>(s | 0x7f800000 | (m << 13));
  return reinterpret<f32>(s | ((e + 112) << 23) | (m << 13));
}

/**
 * Quantizes T rows of K activations to int8, one scale per group of g: s = max|x| / 127, q = round(x / s)
 * (ties to even), q ∈ [-127, 127]. Per group rather than per token, because LLM activations have a few
 * outlier channels that would otherwise flatten every other channel of the row to a handful of levels; the
 * kernels need one multiply per (row, group) to apply a weight scale anyway, so this costs nothing extra there.
 */
export function quantize_act_i8(
  q: usize,      // (T, K) i8 out
  scales: usize, // (T, K/g) f32 out
  x: usize,      // (T, K) f32
  T: i32, K: i32, g: i32,
): void {
  const G = K / g;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < G; j++) {
      const xs = x + ((<usize>(t * K + j * g)) << 2);
      let amax = f32x4.splat(0);
      for (let i = 0; i < g; i += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(xs + (<usize>i << 2))));
      const m = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
      const s: f32 = m / 127;
      store<f32>(scales + ((<usize>(t * G + j)) << 2), s);
      const inv = f32x4.splat(s > 0 ? <f32>1 / s : 0);
      const qs = q + <usize>(t * K + j * g);
      for (let i = 0; i < g; i += 4) {
        const r = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xs + (<usize>i << 2)), inv)));
        const c = i32x4.min_s(i32x4.max_s(r, i32x4.splat(-127)), i32x4.splat(127));
        store<i8>(qs + <usize>i, <i8>i32x4.extract_lane(c, 0));
        store<i8>(qs + <usize>i + 1, <i8>i32x4.extract_lane(c, 1));
        store<i8>(qs + <usize>i + 2, <i8>i32x4.extract_lane(c, 2));
        store<i8>(qs + <usize>i + 3, <i8>i32x4.extract_lane(c, 3));
      }
    }
  }
}

/**
 * Scalar reference of every fdb2 product, on the stored layout: out[t, m] = Σ_groups s[t,j]·(α1·Σ b1·q + α2·Σ b2·q).
 * The fast kernels compute exactly these integer sums and differ only in f32 rounding order.
 */
export function fdb_matmul_ref(
  out: usize,    // (T, M) f32
  q: usize,      // (T, K) i8 quantized activations
  scales: usize, // (T, K/g) f32 activation scales
  w: usize,      // stored fdb2 (M, K)
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  const G = K / g, gb = storedGroupBytes(g), rowBytes = <usize>(G * gb), pb = g >> 3;
  for (let t = 0; t < T; t++) {
    for (let m = m0; m < m1; m++) {
      let acc: f32 = 0;
      for (let j = 0; j < G; j++) {
        const grp = w + <usize>m * rowBytes + <usize>(j * gb);
        let p1 = 0, p2 = 0;
        for (let i = 0; i < g; i++) {
          const a = <i32>load<i8>(q + <usize>(t * K + j * g + i));
          const bit = (<u32>load<u8>(grp + <usize>(i >> 3)) >> (i & 7)) & 1;
          const bit2 = (<u32>load<u8>(grp + <usize>(pb + (i >> 3))) >> (i & 7)) & 1;
          if (bit) p1 += a;
          if (bit2) p2 += a;
        }
        const a1 = f16to32(load<u16>(grp + <usize>(2 * pb))), a2 = f16to32(load<u16>(grp + <usize>(2 * pb + 2)));
        acc += load<f32>(scales + ((<usize>(t * G + j)) << 2)) * (a1 * <f32>p1 + a2 * <f32>p2);
      }
      store<f32>(out + ((<usize>t * <usize>M + <usize>m) << 2), acc);
    }
  }
}

/** acc + s·(α1·p1 + α2·p2) for four rows: p1, p2 are i32x4 partial sums, α1/α2 four f32 at a1 and a2. */
// @ts-ignore: decorator
@inline export function scaleRows(acc: v128, p1: v128, p2: v128, s: v128, a1: usize, a2: usize): v128 {
  return f32x4.add(acc, f32x4.mul(s, f32x4.add(f32x4.mul(v128.load(a1), f32x4.convert_i32x4_s(p1)), f32x4.mul(v128.load(a2), f32x4.convert_i32x4_s(p2)))));
}

/**
 * Columns per pass of the lookup-table kernels. The lut16 layout stores the matrix pass by pass (all row blocks of
 * columns 0…2047, then of 2048…4095, …), and the kernels finish one pass over all their rows before the next, so
 * a pass's tables (4 or 8 bytes per column) stay in the L1 cache while the weights stream past them. In one pass
 * over K = 5632 (TinyLlama's down projection) they were evicted, and that product ran at 60 % of the rate of
 * K = 2048 with the weights streamed from memory (docs/KERNELS.md).
 */
// @ts-ignore: decorator
@inline export const PASS_COLUMNS: i32 = 2048;

/** Groups per pass for group size g (at least one). */
// @ts-ignore: decorator
@inline export function passGroups(g: i32): i32 { return max(1, PASS_COLUMNS / g); }

/**
 * The products of one block of 16 rows with one token over groups j0 … j1 of a pass: o = out + (t·M + m)·4, tt
 * and st the token's tables and scales, p the block's first group in the pass; a block continues the sums
 * already in o when j0 > 0 and stores rows below `end`.
 */
export type LutBlock = (o: usize, tt: usize, st: usize, p: usize, g: i32, j0: i32, j1: i32, m: i32, end: i32) => void;

/**
 * The walk the lookup-table kernels share over the lut16 layout: pass after pass (PASS_COLUMNS), in a pass the
 * blocks of rows [m0, m1), for each block every token. `tableBytes` per column and token: 8 (exact kernel), 4 (fast).
 */
export function lutPasses(
  block: LutBlock, out: usize, tables: usize, tableBytes: i32, scales: usize, w: usize,
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  const G = K / g, pg = passGroups(g);
  const groupBytes = <usize>((g >> 3) * 32 + 128), blocks = <usize>((M + 15) >> 4);
  const tokenTables = <usize>K * <usize>tableBytes;
  for (let j0 = 0; j0 < G; j0 += pg) {
    const j1 = min(G, j0 + pg);
    const pass = w + <usize>j0 * blocks * groupBytes, blockBytes = <usize>(j1 - j0) * groupBytes;
    for (let m = m0; m < m1; m += 16) {
      const blk = pass + <usize>(m >> 4) * blockBytes;
      for (let t = 0; t < T; t++) {
        block(out + ((<usize>t * <usize>M + <usize>m) << 2), tables + <usize>t * tokenTables, scales + ((<usize>(t * G)) << 2), blk, g, j0, j1, m, m1);
      }
    }
  }
}

/** Four row results from o + 4·r (rows m + r … m + r + 3), zeros for rows at or past `end` (a partial block). */
// @ts-ignore: decorator
@inline export function load4(o: usize, m: i32, end: i32, r: i32): v128 {
  const a = o + (<usize>r << 2), first = m + r;
  if (first + 4 <= end) return v128.load(a);
  let v = f32x4.splat(0);
  if (first < end) v = f32x4.replace_lane(v, 0, load<f32>(a));
  if (first + 1 < end) v = f32x4.replace_lane(v, 1, load<f32>(a, 4));
  if (first + 2 < end) v = f32x4.replace_lane(v, 2, load<f32>(a, 8));
  return v;
}

/** Stores 16 row results, or only the rows below `end` for the last, partial block. */
// @ts-ignore: decorator
@inline export function store16(o: usize, m: i32, end: i32, o0: v128, o1: v128, o2: v128, o3: v128): void {
  if (m + 16 <= end) {
    v128.store(o, o0); v128.store(o, o1, 16); v128.store(o, o2, 32); v128.store(o, o3, 48);
    return;
  }
  const n = end - m;
  for (let r = 0; r < n; r++) {
    const v = r < 4 ? o0 : r < 8 ? o1 : r < 12 ? o2 : o3;
    const lane = r & 3;
    store<f32>(o + (<usize>r << 2), lane == 0 ? f32x4.extract_lane(v, 0) : lane == 1 ? f32x4.extract_lane(v, 1) : lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3));
  }
}
