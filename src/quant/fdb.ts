// Flexible Dual Binarization (FDB) post-training fit, one group of weights at a time (research/method.md):
// ŵ = α1·b1 + α2·b2 with b1, b2 ∈ {0, 1}, so each weight takes one of the four levels {0, α2, α1, α1+α2}.
//
// Fit: alternate (1) least squares for (α1, α2) with the binaries fixed and (2) nearest-level assignment with
// the scales fixed, until the binaries stop changing (both steps never increase the optionally
// importance-weighted squared error), from three starts, keeping the best: the 2-bit uniform grid with
// s = absmax/2 in both orientations (α1 = 2s, α2 = −s, levels {−s, 0, s, 2s}; and the mirrored α1 = −2s, α2 = s,
// levels {−2s, −s, 0, s}, which is exactly RTN's grid clamp(round(w/s), −2, 1)), and the extremes (max, min). The scales are finally rounded to f16
// — the stored precision — by coordinate-wise re-solving, and the binaries re-assigned, so the stored group
// satisfies: every weight sits at its nearest level, and no single scale can move to a neighbouring f16 value
// and lower the error.
import { f16ToF32, f32ToF16 } from "./half.ts";

export type FdbMethod = "fdb" | "rtn";

export interface GroupFit {
  a1: number; // f16-exact
  a2: number; // f16-exact
  /** Weighted squared error of the stored group. */
  err: number;
}

const MAX_ITERS = 32;

/** Rounds to the nearest f16 value (as stored). */
export const toF16 = (v: number): number => f16ToF32(f32ToF16(v));

/** Assigns each weight to its nearest level; returns the weighted squared error. */
export function assign(w: ArrayLike<number>, o: number, g: number, imp: ArrayLike<number> | undefined, a1: number, a2: number, b1: Uint8Array, b2: Uint8Array, bo: number): number {
  const l1 = a1, l2 = a2, l3 = a1 + a2;
  let err = 0;
  for (let i = 0; i < g; i++) {
    const v = w[o + i];
    // candidates: 0 (00), α1 (10), α2 (01), α1+α2 (11); ties go to the first, so zeros win ties
    let best = v * v, c1 = 0, c2 = 0;
    let d = v - l1; d *= d; if (d < best) { best = d; c1 = 1; c2 = 0; }
    d = v - l2; d *= d; if (d < best) { best = d; c1 = 0; c2 = 1; }
    d = v - l3; d *= d; if (d < best) { best = d; c1 = 1; c2 = 1; }
    b1[bo + i] = c1; b2[bo + i] = c2;
    err += imp ? imp[i] * best : best;
  }
  return err;
}

/** Weighted squared error of given binaries and scales. */
export function groupError(w: ArrayLike<number>, o: number, g: number, imp: ArrayLike<number> | undefined, a1: number, a2: number, b1: Uint8Array, b2: Uint8Array, bo: number): number {
  let err = 0;
  for (let i = 0; i < g; i++) {
    const d = w[o + i] - a1 * b1[bo + i] - a2 * b2[bo + i];
    err += imp ? imp[i] * d * d : d * d;
  }
  return err;
}

interface Normal { s11: number; s22: number; s12: number; r1: number; r2: number }

function normal(w: ArrayLike<number>, o: number, g: number, imp: ArrayLike<number> | undefined, b1: Uint8Array, b2: Uint8Array, bo: number): Normal {
  let s11 = 0, s22 = 0, s12 = 0, r1 = 0, r2 = 0;
  for (let i = 0; i < g; i++) {
    const p = imp ? imp[i] : 1, v = w[o + i], x1 = b1[bo + i], x2 = b2[bo + i];
    s11 += p * x1; s22 += p * x2; s12 += p * x1 * x2; r1 += p * v * x1; r2 += p * v * x2;
  }
  return { s11, s22, s12, r1, r2 };
}

/** Least-squares scales for fixed binaries (keeps a scale whose binary column is empty). */
function solve(n: Normal, a1: number, a2: number): [number, number] {
  const det = n.s11 * n.s22 - n.s12 * n.s12;
  if (det > 1e-12 * Math.max(1, n.s11 * n.s22)) return [(n.r1 * n.s22 - n.r2 * n.s12) / det, (n.r2 * n.s11 - n.r1 * n.s12) / det];
  // singular: b1 and b2 identical, or one of them empty — fit what can be fitted
  if (n.s11 > 0 && n.s22 > 0) { const a = (n.r1 / n.s11) / 2; return [a, a]; }
  if (n.s11 > 0) return [n.r1 / n.s11, a2];
  if (n.s22 > 0) return [a1, n.r2 / n.s22];
  return [a1, a2];
}

/**
 * Fits one group of `g` weights w[o .. o+g) into binaries b1/b2 (bytes 0/1 at bo ..) and f16 scales.
 * `imp` (length g) weights each column's squared error (activation-aware fitting); omit for plain MSE.
 */
export function fitGroup(w: ArrayLike<number>, o: number, g: number, imp: ArrayLike<number> | undefined, b1: Uint8Array, b2: Uint8Array, bo: number, method: FdbMethod): GroupFit {
  let amax = 0;
  for (let i = 0; i < g; i++) amax = Math.max(amax, Math.abs(w[o + i]));
  if (amax === 0 || !Number.isFinite(amax)) {
    b1.fill(0, bo, bo + g); b2.fill(0, bo, bo + g);
    return { a1: 0, a2: 0, err: 0 };
  }
  const s = amax / 2;
  if (method === "rtn") {
    const a1 = toF16(-2 * s), a2 = toF16(s);
    return { a1, a2, err: assign(w, o, g, imp, a1, a2, b1, b2, bo) };
  }
  // Alternating least squares finds a local optimum, so start it from three initial grids and keep the best:
  // the 2-bit grid in both orientations, and the extremes (α1, α2) = (max, min), which is exact whenever the
  // group already has the fdb2 form with α1 > 0 > α2.
  let mn = Infinity, mx = -Infinity;
  for (let i = 0; i < g; i++) { const v = w[o + i]; if (v < mn) mn = v; if (v > mx) mx = v; }
  const starts: [number, number][] = [[2 * s, -s], [-2 * s, s]];
  if (mx > 0 && mn < 0) starts.push([mx, mn]);
  let a1 = 0, a2 = 0, err = Infinity;
  const t1 = new Uint8Array(g), t2 = new Uint8Array(g), c1 = new Uint8Array(g), c2 = new Uint8Array(g);
  for (const [i1, i2] of starts) {
    const r = als(w, o, g, imp, i1, i2, c1, c2, t1, t2);
    if (r.err < err) { err = r.err; a1 = r.a1; a2 = r.a2; b1.set(c1, bo); b2.set(c2, bo); }
  }
  return storeF16(w, o, g, imp, b1, b2, bo, a1, a2);
}

/** Alternating least squares from (a1, a2): binaries into c1/c2 (t1/t2 are scratch). */
function als(w: ArrayLike<number>, o: number, g: number, imp: ArrayLike<number> | undefined, a1: number, a2: number, c1: Uint8Array, c2: Uint8Array, t1: Uint8Array, t2: Uint8Array): GroupFit {
  let err = assign(w, o, g, imp, a1, a2, c1, c2, 0);
  for (let it = 0; it < MAX_ITERS; it++) {
    [a1, a2] = solve(normal(w, o, g, imp, c1, c2, 0), a1, a2);
    t1.set(c1); t2.set(c2);
    err = assign(w, o, g, imp, a1, a2, c1, c2, 0);
    let changed = false;
    for (let i = 0; i < g && !changed; i++) changed = t1[i] !== c1[i] || t2[i] !== c2[i];
    if (!changed) break;
  }
  return { a1, a2, err };
}

/**
 * Rounds the scales to f16 and makes the stored group coordinate-wise optimal on the f16 grid: with the
 * binaries fixed the error is a parabola in each scale, so the f16 value nearest to its conditional least-squares
 * optimum is the best f16 value for it. Alternate α1, α2 and re-assignment until nothing changes (each step
 * lowers the error, so this terminates).
 */
function storeF16(w: ArrayLike<number>, o: number, g: number, imp: ArrayLike<number> | undefined, b1: Uint8Array, b2: Uint8Array, bo: number, a1: number, a2: number): GroupFit {
  let r1 = toF16(a1), r2 = toF16(a2);
  let err = assign(w, o, g, imp, r1, r2, b1, b2, bo);
  for (let it = 0; it < 4 * MAX_ITERS; it++) {
    let changed = false;
    const n = normal(w, o, g, imp, b1, b2, bo);
    const n1 = n.s11 > 0 ? toF16((n.r1 - r2 * n.s12) / n.s11) : r1;
    if (n1 !== r1) {
      const e = groupError(w, o, g, imp, n1, r2, b1, b2, bo);
      if (e < err) { r1 = n1; err = e; changed = true; }
    }
    const n2 = n.s22 > 0 ? toF16((n.r2 - r1 * n.s12) / n.s22) : r2;
    if (n2 !== r2) {
      const e = groupError(w, o, g, imp, r1, n2, b1, b2, bo);
      if (e < err) { r2 = n2; err = e; changed = true; }
    }
    const e = assign(w, o, g, imp, r1, r2, b1, b2, bo);
    if (e < err) changed = true;
    err = e;
    if (!changed) break;
  }
  return { a1: r1, a2: r2, err };
}

/** The two f16 values adjacent to an f16 value `v`. */
export function f16Neighbours(v: number): [number, number] {
  const h = f32ToF16(v);
  const up = (h & 0x8000) ? (h === 0x8000 ? 0x0001 : h - 1) : h + 1; // toward +inf
  const down = (h & 0x8000) ? h + 1 : (h === 0 ? 0x8001 : h - 1); // toward -inf
  return [f16ToF32(up & 0xffff), f16ToF32(down & 0xffff)];
}
