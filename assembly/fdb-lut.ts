// Lookup-table (T-MAC-style) kernels for fdb2 matrices: y = Σ_groups s·(α1·B1·q + α2·B2·q) with int8
// activations q, computed without multiplying a single weight.
//
// Activations: each int8 a = 16·hi + lo with lo ∈ [0, 15] and hi ∈ [-8, 7]. For every 4 consecutive
// activations ("chunk") two 16-entry tables hold the sums of lo (u8, 0..60) and of hi (i8, -32..28) over all
// 16 subsets of the chunk. A 4-bit pattern of weight bits then selects that subset's sum with one swizzle —
// for 16 rows at once. Both planes and every row block reuse the same tables.
//
// Runtime weight layout ("lut16"), repacked at load from the stored layout: passes of PASS_COLUMNS columns
// (fdb-common.ts), each holding all blocks of 16 rows for its groups; in a block, for each group, for each 8
// columns: one v128 of plane b1 (lane r = row r's byte: low nibble = columns 0..3, high nibble = columns 4..7,
// bit i = column i) and one of plane b2; after the group's g/8 pairs, α1 and α2 of the 16 rows as f32 (128
// bytes). A pass is one sequential stream. M is padded to 16 rows of zero bits.
//
// Accumulation: lookups are summed in 8 bits over 16 columns (lo ≤ 240 in u8, hi ∈ [-128, 112] in i8), then
// widened and combined as 16·hi + lo into i16 per row — the exact partial sum Σ b·a, which fits i16 for g ≤ 256.
import { f16to32, load4, lutPasses, passGroups, scaleRows, store16, storedGroupBytes } from "./fdb-common";

/** Bytes of the lut16 layout of an (M, K) fdb2 matrix with group size g. */
export function fdb_lut_bytes(M: i32, K: i32, g: i32): usize {
  const G = K / g;
  return <usize>((M + 15) >> 4) * <usize>G * <usize>((g >> 3) * 32 + 128);
}

/** Repacks rows [r0, r0+n) of an (M, K) matrix from the stored layout (src: n rows) into the lut16 layout at w. */
export function fdb_pack_lut(w: usize, src: usize, n: i32, K: i32, g: i32, r0: i32, M: i32): void {
  const G = K / g, gb = storedGroupBytes(g), pb = g >> 3, pg = passGroups(g);
  const groupBytes = <usize>(pb * 32 + 128), blocks = <usize>((M + 15) >> 4);
  for (let i = 0; i < n; i++) {
    const r = r0 + i, lane = <usize>(r & 15), rb = <usize>(r >> 4);
    const row = src + <usize>i * <usize>(G * gb);
    for (let j = 0; j < G; j++) {
      // pass j0 … j1 starts after the earlier passes' blocks; this row's block after the pass's earlier blocks
      const j0 = j - j % pg, width = <usize>(min(G, j0 + pg) - j0);
      const d = w + (<usize>j0 * blocks + rb * width + <usize>(j - j0)) * groupBytes;
      const s = row + <usize>(j * gb);
      for (let c = 0; c < pb; c++) {
        store<u8>(d + (<usize>c << 5) + lane, load<u8>(s + <usize>c));
        store<u8>(d + (<usize>c << 5) + 16 + lane, load<u8>(s + <usize>(pb + c)));
      }
      const sc = d + <usize>(pb * 32);
      store<f32>(sc + (lane << 2), f16to32(load<u16>(s + <usize>(2 * pb))));
      store<f32>(sc + 64 + (lane << 2), f16to32(load<u16>(s + <usize>(2 * pb + 2))));
    }
  }
}

// Lanes whose index has bit i set (bit 0 = first activation of the chunk).
// @ts-ignore: decorator
@inline function bitMask(i: i32): v128 {
  if (i == 0) return i8x16(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
  if (i == 1) return i8x16(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1);
  if (i == 2) return i8x16(0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1);
  return i8x16(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1);
}

/**
 * Builds the lookup tables of T rows of int8 activations: per chunk of 4, 32 bytes = (lo table, hi table).
 */
export function fdb_build_tables(
  tables: usize, // (T, K/4, 2, 16) bytes out
  q: usize,      // (T, K) i8
  T: i32, K: i32,
): void {
  const m0 = bitMask(0), m1 = bitMask(1), m2 = bitMask(2), m3 = bitMask(3);
  const chunks = (T * K) >> 2;
  for (let c = 0; c < chunks; c++) {
    const p = q + (<usize>c << 2);
    const a0 = <i32>load<i8>(p), a1 = <i32>load<i8>(p, 1), a2 = <i32>load<i8>(p, 2), a3 = <i32>load<i8>(p, 3);
    const tl = i8x16.add(i8x16.add(v128.and(i8x16.splat(<i8>(a0 & 15)), m0), v128.and(i8x16.splat(<i8>(a1 & 15)), m1)),
      i8x16.add(v128.and(i8x16.splat(<i8>(a2 & 15)), m2), v128.and(i8x16.splat(<i8>(a3 & 15)), m3)));
    const th = i8x16.add(i8x16.add(v128.and(i8x16.splat(<i8>(a0 >> 4)), m0), v128.and(i8x16.splat(<i8>(a1 >> 4)), m1)),
      i8x16.add(v128.and(i8x16.splat(<i8>(a2 >> 4)), m2), v128.and(i8x16.splat(<i8>(a3 >> 4)), m3)));
    const d = tables + (<usize>c << 5);
    v128.store(d, tl);
    v128.store(d, th, 16);
  }
}

// @ts-ignore: decorator
@inline function lookup(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/**
 * out (T, M) f32 = fdb2 W (M, K) · activations, for rows [m0, m1) (multiples of 16, or M).
 * `tables` and `scales` come from quantize_act_i8 + fdb_build_tables.
 */
export function fdb_matmul_lut(
  out: usize,    // (T, M) f32
  tables: usize, // (T, K/4, 32) bytes
  scales: usize, // (T, K/g) f32
  w: usize,      // lut16 (M, K)
  T: i32, K: i32, M: i32, g: i32, m0: i32, m1: i32,
): void {
  lutPasses(lutBlock, out, tables, 8, scales, w, T, K, M, g, m0, m1);
}

/** One block of 16 rows and one token over groups j0 … j1 (LutBlock). */
function lutBlock(o: usize, tt: usize, st: usize, p: usize, g: i32, j0: i32, j1: i32, m: i32, end: i32): void {
  const pb = g >> 3;
  const low4 = i8x16.splat(15);
  let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
  if (j0 > 0) { o0 = load4(o, m, end, 0); o1 = load4(o, m, end, 4); o2 = load4(o, m, end, 8); o3 = load4(o, m, end, 12); }
  for (let j = j0; j < j1; j++) {
    let p1a = i16x8.splat(0), p1b = i16x8.splat(0), p2a = i16x8.splat(0), p2b = i16x8.splat(0);
    let tp = tt + <usize>(j * g) * 8; // tables of this group's first chunk
    for (let c = 0; c < pb; c += 2) {
      // two steps of 8 columns, summed in 8 bits (unrolled: AssemblyScript keeps small loops)
      const w1 = v128.load(p), w2 = v128.load(p, 16), w3 = v128.load(p, 32), w4 = v128.load(p, 48);
      const tla = v128.load(tp), tha = v128.load(tp, 16), tlb = v128.load(tp, 32), thb = v128.load(tp, 48);
      let i1 = v128.and(w1, low4), i2 = v128.and(w2, low4);
      let s1l = lookup(tla, i1), s1h = lookup(tha, i1), s2l = lookup(tla, i2), s2h = lookup(tha, i2);
      i1 = v128.and(i16x8.shr_u(w1, 4), low4); i2 = v128.and(i16x8.shr_u(w2, 4), low4);
      s1l = i8x16.add(s1l, lookup(tlb, i1)); s1h = i8x16.add(s1h, lookup(thb, i1));
      s2l = i8x16.add(s2l, lookup(tlb, i2)); s2h = i8x16.add(s2h, lookup(thb, i2));
      const tlc = v128.load(tp, 64), thc = v128.load(tp, 80), tld = v128.load(tp, 96), thd = v128.load(tp, 112);
      i1 = v128.and(w3, low4); i2 = v128.and(w4, low4);
      s1l = i8x16.add(s1l, lookup(tlc, i1)); s1h = i8x16.add(s1h, lookup(thc, i1));
      s2l = i8x16.add(s2l, lookup(tlc, i2)); s2h = i8x16.add(s2h, lookup(thc, i2));
      i1 = v128.and(i16x8.shr_u(w3, 4), low4); i2 = v128.and(i16x8.shr_u(w4, 4), low4);
      s1l = i8x16.add(s1l, lookup(tld, i1)); s1h = i8x16.add(s1h, lookup(thd, i1));
      s2l = i8x16.add(s2l, lookup(tld, i2)); s2h = i8x16.add(s2h, lookup(thd, i2));
      p += 64; tp += 128;
      p1a = i16x8.add(p1a, i16x8.add(i16x8.extend_low_i8x16_u(s1l), i16x8.shl(i16x8.extend_low_i8x16_s(s1h), 4)));
      p1b = i16x8.add(p1b, i16x8.add(i16x8.extend_high_i8x16_u(s1l), i16x8.shl(i16x8.extend_high_i8x16_s(s1h), 4)));
      p2a = i16x8.add(p2a, i16x8.add(i16x8.extend_low_i8x16_u(s2l), i16x8.shl(i16x8.extend_low_i8x16_s(s2h), 4)));
      p2b = i16x8.add(p2b, i16x8.add(i16x8.extend_high_i8x16_u(s2l), i16x8.shl(i16x8.extend_high_i8x16_s(s2h), 4)));
    }
    // group epilogue: o += s·(α1·P1 + α2·P2), rows 0..15 in four f32x4
    const s = f32x4.splat(load<f32>(st + (<usize>j << 2)));
    o0 = scaleRows(o0, i32x4.extend_low_i16x8_s(p1a), i32x4.extend_low_i16x8_s(p2a), s, p, p + 64);
    o1 = scaleRows(o1, i32x4.extend_high_i16x8_s(p1a), i32x4.extend_high_i16x8_s(p2a), s, p + 16, p + 80);
    o2 = scaleRows(o2, i32x4.extend_low_i16x8_s(p1b), i32x4.extend_low_i16x8_s(p2b), s, p + 32, p + 96);
    o3 = scaleRows(o3, i32x4.extend_high_i16x8_s(p1b), i32x4.extend_high_i16x8_s(p2b), s, p + 48, p + 112);
    p += 128;
  }
  store16(o, m, end, o0, o1, o2, o3);
}
