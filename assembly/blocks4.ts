// Shared by the kernels over 4-row blocks (q8.ts, q4.ts): the four rows' partial sums reduced to one vector,
// and the store of a block's four results.

/** The four rows' partial sums d0…d3 (four lanes each) reduced to (row0, row1, row2, row3). */
// @ts-ignore: decorator
@inline export function rows4(d0: v128, d1: v128, d2: v128, d3: v128): v128 {
  const s01 = i32x4.add(v128.shuffle<i32>(d0, d1, 0, 4, 1, 5), v128.shuffle<i32>(d0, d1, 2, 6, 3, 7));
  const s23 = i32x4.add(v128.shuffle<i32>(d2, d3, 0, 4, 1, 5), v128.shuffle<i32>(d2, d3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(s01, s23, 0, 1, 4, 5), v128.shuffle<i32>(s01, s23, 2, 3, 6, 7));
}

/** Stores four row results, or only the rows below `end` for the last, partial block. */
// @ts-ignore: decorator
@inline export function store4(o: usize, m: i32, end: i32, acc: v128): void {
  if (m + 4 <= end) { v128.store(o, acc); return; }
  if (m < end) store<f32>(o, f32x4.extract_lane(acc, 0));
  if (m + 1 < end) store<f32>(o + 4, f32x4.extract_lane(acc, 1));
  if (m + 2 < end) store<f32>(o + 8, f32x4.extract_lane(acc, 2));
}
