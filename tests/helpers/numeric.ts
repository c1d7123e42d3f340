// Numeric comparison helpers: every check prints its max difference and fails the test when out of tolerance.
import * as assert from "uvu/assert";

export interface Diff { maxAbs: number; maxRef: number; at: number }

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): Diff {
  assert.is(a.length, b.length, "lengths differ");
  let maxAbs = 0, maxRef = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) { maxAbs = d; at = i; } // NaN-safe: a NaN difference always becomes the maximum
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return { maxAbs, maxRef, at };
}

/** Asserts max |a - b| ≤ tol·max(1, max|b|) (relative to the reference's scale), printing the figures. */
export function assertClose(label: string, a: ArrayLike<number>, b: ArrayLike<number>, tol: number, absolute = false): Diff {
  const d = maxDiff(a, b);
  const bound = absolute ? tol : tol * Math.max(1, d.maxRef);
  const ok = d.maxAbs <= bound;
  console.log(`  ${ok ? "ok " : "BAD"} ${label}: max |diff| = ${d.maxAbs.toExponential(3)} (bound ${bound.toExponential(2)}, max |ref| = ${d.maxRef.toExponential(3)})`);
  assert.ok(ok, `${label}: max |diff| ${d.maxAbs} at ${d.at} exceeds ${bound}`);
  return d;
}

/** Deterministic PRNG (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale). */
export function randomF32(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}
