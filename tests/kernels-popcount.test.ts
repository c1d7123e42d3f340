// fdb2 popcount-over-bitplanes kernels (assembly/fdb-popcount.ts), scalar i64.popcnt and SIMD i8x16.popcnt forms,
// against the scalar reference on the stored layout and against the float product of the dequantized weights,
// on awkward shapes; plus row-range splits, uneven packing chunks, GEMM = stacked GEMVs.
//
// The shipped module is instantiated directly (own memory + bump allocator).
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { KernelExports } from "../src/engine/kernels.generated.ts";
import { detectFeatures, kernelBytes } from "../src/engine/features.ts";
import { randomStoredFdb } from "./helpers/fdb-fixtures.ts";
import { assertClose, randomF32, rng } from "./helpers/numeric.ts";

const builds = detectFeatures().relaxedSimd ? (["simd", "relaxed"] as const) : (["simd"] as const);

/** One instance over its own memory, with a bump allocator (no frees: each test makes a fresh one). */
class Heap {
  readonly memory = new WebAssembly.Memory({ initial: 1 });
  k!: KernelExports;
  private top = 0;
  static async create(bytes: Uint8Array<ArrayBuffer>): Promise<Heap> {
    const h = new Heap();
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory: h.memory } });
    h.k = instance.exports as unknown as KernelExports;
    h.top = (h.k.heap_base() + 63) & ~63;
    return h;
  }
  alloc(bytes: number): number {
    const p = this.top;
    this.top = (p + bytes + 63) & ~63;
    const need = Math.ceil(this.top / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return p;
  }
  f32(p: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, p, n); }
  u8(p: number, n: number): Uint8Array { return new Uint8Array(this.memory.buffer, p, n); }
  i8(p: number, n: number): Int8Array { return new Int8Array(this.memory.buffer, p, n); }
}

/** Activations with outlier channels, an all-zero group, a group at ±max (→ q = ±127) and a huge negative value. */
function activations(T: number, K: number, g: number, rand: () => number): Float32Array {
  const x = randomF32(T * K, rand, 1);
  for (let i = 0; i < x.length; i += 53) x[i] *= 40;
  if (K >= 2 * g) x.fill(0, 0, g); // an all-zero group in the first token
  if (T > 1) x[K + 3] = -500;
  if (T * K > g) { // last group of the last token (unless it is the only group): every |x| equal → every q = ±127
    const last = T * K - g;
    for (let i = 0; i < g; i++) x[last + i] = i % 3 === 0 ? -2.5 : 2.5;
  }
  return x;
}

type Kernel = "fdb_matmul_pop" | "fdb_matmul_pop_simd";
const KERNELS: Kernel[] = ["fdb_matmul_pop", "fdb_matmul_pop_simd"];

/** Packs `w` (stored bytes at pw) into the pop layout at pl in the given row chunks. */
function packChunks(h: Heap, pl: number, pw: number, rowBytes: number, M: number, K: number, g: number, chunks: number[]): void {
  let r = 0;
  for (const n of chunks) {
    h.k.fdb_pack_pop(pl, pw + r * rowBytes, n, K, g, r);
    r += n;
  }
  assert.is(r, M);
}

for (const build of builds) {
  const bytes = kernelBytes(build)!;

  test(`[${build}] fdb_matmul_pop(_simd) = fdb_matmul_ref = float product, awkward shapes, g = 64 / 128 / others`, async () => {
    const rand = rng(23);
    const cases: [number, number, number, number][] = [
      [1, 64, 1, 64], [1, 128, 7, 128], [2, 64, 3, 64], [3, 192, 5, 64], [1, 576, 33, 64], [5, 256, 17, 128],
      [2, 640, 9, 128], [1, 2048, 64, 128], [3, 384, 10, 192], [5, 320, 4, 320], [2, 512, 6, 256], [1, 1024, 13, 64],
    ];
    for (const [T, K, M, g] of cases) {
      const h = await Heap.create(bytes);
      const k = h.k, G = K / g;
      const w = randomStoredFdb(M, K, g, rand);
      const x = activations(T, K, g, rand);
      const rowBytes = w.bytes.length / M;
      const px = h.alloc(T * K * 4), pq = h.alloc(T * K), ps = h.alloc(T * G * 4), pw = h.alloc(w.bytes.length);
      const pbytes = k.fdb_pop_bytes(M, K, g), planeBytes = k.fdb_pop_planes_bytes(T, K);
      assert.is(pbytes, M * G * (g / 4 + 8));
      const pl = h.alloc(pbytes), pl2 = h.alloc(pbytes), pp = h.alloc(planeBytes);
      const pr = h.alloc(T * M * 4), pa = h.alloc(T * M * 4), pb = h.alloc(T * M * 4);
      h.f32(px, T * K).set(x);
      h.u8(pw, w.bytes.length).set(w.bytes);
      k.quantize_act_i8(pq, ps, px, T, K, g);
      const q = h.i8(pq, T * K), s = h.f32(ps, T * G);
      if (T * K > g) assert.ok(q.includes(127) && q.includes(-127), "activations reach ±127");
      // packing: one call vs uneven chunks gives the same bytes (the layout has no padding: every byte is written)
      h.u8(pl, pbytes).fill(0xcd);
      h.u8(pl2, pbytes).fill(0x5a);
      packChunks(h, pl, pw, rowBytes, M, K, g, [M]);
      const chunks = M === 1 ? [1] : M === 3 ? [1, 2] : [1, Math.floor(M / 2), M - 1 - Math.floor(M / 2)];
      packChunks(h, pl2, pw, rowBytes, M, K, g, chunks);
      assert.equal(h.u8(pl2, pbytes), h.u8(pl, pbytes), `chunked packing ${chunks} differs`);
      h.u8(pp, planeBytes).fill(0xcd); // garbage before prepare (the kernels never read the padding words)
      k.fdb_pop_prepare(pp, pq, T, K);
      k.fdb_matmul_ref(pr, pq, ps, pw, T, K, M, g, 0, M);

      const label = `T=${T} K=${K} M=${M} g=${g}`;
      const oracle = new Float64Array(T * M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
        let acc = 0;
        for (let c = 0; c < K; c++) acc += w.dense[m * K + c] * q[t * K + c] * s[t * G + Math.floor(c / g)];
        oracle[t * M + m] = acc;
      }
      assertClose(`reference vs float product ${label}`, h.f32(pr, T * M), oracle, 1e-5);

      for (const kern of KERNELS) {
        const f = k[kern].bind(k);
        h.f32(pa, T * M).fill(Number.NaN);
        f(pa, pp, ps, pl2, T, K, M, g, 0, M);
        assertClose(`${kern} vs reference ${label}`, h.f32(pa, T * M), h.f32(pr, T * M), 1e-5);
        // row ranges (threads): uneven splits, including empty and one-row ranges, give identical output
        h.f32(pb, T * M).fill(Number.NaN);
        const cuts = [...new Set([0, Math.min(1, M), Math.floor(M / 2) + 1, M].map((c) => Math.min(c, M)))].sort((a, b) => a - b);
        for (let i = 0; i + 1 < cuts.length; i++) f(pb, pp, ps, pl2, T, K, M, g, cuts[i], cuts[i + 1]);
        f(pb, pp, ps, pl2, T, K, M, g, M, M); // empty range writes nothing
        assertClose(`${kern} row split ${cuts.join("|")} ${label}`, h.f32(pb, T * M), h.f32(pa, T * M), 0, true);
        // GEMM over T tokens = T GEMVs
        if (T > 1) {
          h.f32(pb, T * M).fill(Number.NaN);
          for (let t = 0; t < T; t++) {
            f(pb + t * M * 4, pp + t * (planeBytes / T), ps + t * G * 4, pl2, 1, K, M, g, 0, M);
          }
          assertClose(`${kern} GEMM = stacked GEMVs ${label}`, h.f32(pb, T * M), h.f32(pa, T * M), 0, true);
        }
      }
    }
  });

  test(`[${build}] popcount kernels on extreme integers: q ∈ {−128, −127, 127, 0}, dense planes`, async () => {
    const rand = rng(5);
    for (const [T, K, M, g] of [[3, 256, 5, 64], [2, 384, 3, 128], [1, 192, 2, 192]] as [number, number, number, number][]) {
      const h = await Heap.create(bytes);
      const k = h.k, G = K / g;
      // dense weights: both planes all ones in most groups, so sums reach ±127·g
      const w = randomStoredFdb(M, K, g, rand, 0.97);
      const pw = h.alloc(w.bytes.length), pq = h.alloc(T * K), ps = h.alloc(T * G * 4);
      const pl = h.alloc(k.fdb_pop_bytes(M, K, g)), pp = h.alloc(k.fdb_pop_planes_bytes(T, K));
      const pr = h.alloc(T * M * 4), pa = h.alloc(T * M * 4);
      h.u8(pw, w.bytes.length).set(w.bytes);
      const q = h.i8(pq, T * K);
      const vals = [-128, -127, 127, 0, 1, -1, 64, -64];
      for (let i = 0; i < T * K; i++) {
        const grp = Math.floor(i / g) % 4;
        q[i] = grp === 0 ? 127 : grp === 1 ? -128 : grp === 2 ? 0 : vals[Math.floor(rand() * vals.length)];
      }
      h.f32(ps, T * G).fill(1);
      k.fdb_pack_pop(pl, pw, M, K, g, 0);
      k.fdb_pop_prepare(pp, pq, T, K);
      k.fdb_matmul_ref(pr, pq, ps, pw, T, K, M, g, 0, M);
      const oracle = new Float64Array(T * M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
        let acc = 0;
        for (let c = 0; c < K; c++) acc += w.dense[m * K + c] * q[t * K + c];
        oracle[t * M + m] = acc;
      }
      const label = `T=${T} K=${K} M=${M} g=${g}`;
      assertClose(`reference vs float product ${label}`, h.f32(pr, T * M), oracle, 1e-5);
      for (const kern of KERNELS) {
        h.f32(pa, T * M).fill(Number.NaN);
        k[kern](pa, pp, ps, pl, T, K, M, g, 0, M);
        assertClose(`${kern} vs reference ${label}`, h.f32(pa, T * M), h.f32(pr, T * M), 1e-5);
      }
    }
  });
}

test.run();
