// The stored fdb2 group (docs/FORMAT.md, assembly/fdb-common.ts): g/8 bytes of bit plane b1, g/8 bytes of b2
// (bit i of byte j is column 8j+i of the group), then α1 and α2 as f16 — g/4 + 4 bytes for g weights, each
// ŵ = α1·b1 + α2·b2. Decoding is the reference the kernels are tested against; encoding runs the FDB fit
// (fdb.ts) group by group. The fdb2 rows of the type table (table.ts) are made of these.
import { fitGroup, type FdbMethod } from "./fdb.ts";
import { f16ToF32Table, f32ToF16 } from "./half.ts";

/** How the fit runs: FDB (the default) or 2-bit RTN, optionally weighing each column's squared error. */
export interface FitOptions {
  method?: FdbMethod;
  /** Per-column error weights of one row (its length is the row length; activation-aware fitting). */
  importance?: Float64Array;
}

export const fdbGroupBytes = (g: number): number => g / 4 + 4;

/** Decodes whole groups: `dst.length` weights from `src`. */
export function decodeFdb(g: number) {
  return (src: Uint8Array, dst: Float32Array): void => {
    const pb = g / 8, gb = fdbGroupBytes(g), t = f16ToF32Table();
    for (let j = 0; j < dst.length / g; j++) {
      const o = j * gb;
      const a1 = t[src[o + 2 * pb] | (src[o + 2 * pb + 1] << 8)], a2 = t[src[o + 2 * pb + 2] | (src[o + 2 * pb + 3] << 8)];
      for (let i = 0; i < g; i++) {
        const b1 = (src[o + (i >> 3)] >> (i & 7)) & 1, b2 = (src[o + pb + (i >> 3)] >> (i & 7)) & 1;
        dst[j * g + i] = (b1 ? a1 : 0) + (b2 ? a2 : 0);
      }
    }
  };
}

/**
 * Encodes whole rows of f32 (`src.length` a multiple of g), fitting each group in turn. With importance weights,
 * group j of the data covers columns (j·g) mod rowLength .. + g.
 */
export function encodeFdb(g: number) {
  return (src: Float32Array, fit: FitOptions = {}): Uint8Array => {
    const pb = g / 8, gb = fdbGroupBytes(g), groups = src.length / g, imp = fit.importance;
    const out = new Uint8Array(groups * gb);
    const b1 = new Uint8Array(g), b2 = new Uint8Array(g);
    for (let j = 0; j < groups; j++) {
      const c0 = imp ? (j * g) % imp.length : 0;
      const f = fitGroup(src, j * g, g, imp?.subarray(c0, c0 + g), b1, b2, 0, fit.method ?? "fdb");
      const at = j * gb;
      for (let i = 0; i < g; i++) {
        out[at + (i >> 3)] |= b1[i] << (i & 7);
        out[at + pb + (i >> 3)] |= b2[i] << (i & 7);
      }
      const h1 = f32ToF16(f.a1), h2 = f32ToF16(f.a2);
      out[at + 2 * pb] = h1 & 255; out[at + 2 * pb + 1] = h1 >> 8;
      out[at + 2 * pb + 2] = h2 & 255; out[at + 2 * pb + 3] = h2 >> 8;
    }
    return out;
  };
}

/** Zero bits over both bit planes of stored groups (`dbllm quantize` reports their share). */
export function fdbZeroBits(g: number, stored: Uint8Array): number {
  const pb = g / 8, gb = fdbGroupBytes(g), groups = stored.length / gb;
  let ones = 0;
  for (let j = 0; j < groups; j++) {
    for (let i = j * gb; i < j * gb + 2 * pb; i++) for (let v = stored[i]; v; v >>= 1) ones += v & 1;
  }
  return groups * 2 * g - ones;
}
