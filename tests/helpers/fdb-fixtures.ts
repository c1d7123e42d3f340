// Random fdb2 matrices in the stored layout (see assembly/fdb-common.ts), for kernel tests and benchmarks.
import { f32ToF16, f16ToF32 } from "../../src/quant/half.ts";

export interface StoredFdb { bytes: Uint8Array; dense: Float32Array; M: number; K: number; g: number }

/** Random bits (≈ the given density of ones) and random f16 scales; `dense` is the dequantized matrix. */
export function randomStoredFdb(M: number, K: number, g: number, rand: () => number, density = 0.3): StoredFdb {
  const G = K / g, gb = g / 4 + 4, pb = g / 8;
  const bytes = new Uint8Array(M * G * gb), dense = new Float32Array(M * K);
  const view = new DataView(bytes.buffer);
  for (let m = 0; m < M; m++) for (let j = 0; j < G; j++) {
    const o = (m * G + j) * gb;
    const a1 = f16ToF32(f32ToF16((rand() - 0.3) * 0.1)), a2 = f16ToF32(f32ToF16((rand() - 0.7) * 0.05));
    view.setUint16(o + 2 * pb, f32ToF16(a1), true);
    view.setUint16(o + 2 * pb + 2, f32ToF16(a2), true);
    for (let i = 0; i < g; i++) {
      const b1 = rand() < density ? 1 : 0, b2 = rand() < density ? 1 : 0;
      bytes[o + (i >> 3)] |= b1 << (i & 7);
      bytes[o + pb + (i >> 3)] |= b2 << (i & 7);
      dense[m * K + j * g + i] = a1 * b1 + a2 * b2;
    }
  }
  return { bytes, dense, M, K, g };
}

/**
 * A rigorous bound on |table-quantized − exact| of the fast fdb2 product (fdb_matmul_lutq, T rows × M outputs):
 * every looked-up table entry is off by at most half a table step (`tscales`, one per row and group), and a
 * group's g/4 lookups per bit plane are weighted by |α1| and |α2| (read from the `stored` groups). Plus 1e-4 of
 * the exact value for float rounding.
 */
export function lutqBound(stored: Uint8Array, tscales: Float32Array, T: number, M: number, K: number, g: number, exact: ArrayLike<number>): Float64Array {
  const G = K / g, bound = new Float64Array(T * M);
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
    let b = 1e-4 * Math.abs(exact[t * M + m]) + 1e-6;
    for (let j = 0; j < G; j++) {
      const o = (m * G + j) * (g / 4 + 4) + g / 4;
      b += tscales[t * G + j] * 0.5 * (g / 4) * (Math.abs(f16ToF32(view.getUint16(o, true))) + Math.abs(f16ToF32(view.getUint16(o + 2, true))));
    }
    bound[t * M + m] = b;
  }
  return bound;
}
