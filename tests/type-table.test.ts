// Every row of the type table (src/quant/table.ts) through every property, as ggml's test-quantize-fns does for
// its type traits: registration (names, GGUF ids and safetensors dtypes unique and found again); storage (encode
// then decode within the row's precision class, on awkward sizes; encoded size = blocks × blockBytes); the load-time
// float check (a NaN or ±Inf at each declared float field is found); and for each runtime format a row's matrices
// run in (per fdb kernel choice, picked by the loader's own runtimeFor): the TS size of the packed matrix = the
// kernel's `*_bytes` export, the SIMD kernel = its scalar reference = the float product of the decoded weights
// with the activations as the kernels see them, and an embedding's row look-up = the decoded row.
// A new row fails here until it has a precision class, and a new runtime format until it has a tolerance.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError } from "../src/errors.ts";
import { Engine } from "../src/engine/engine.ts";
import { detectFeatures } from "../src/engine/features.ts";
import { firstNonFiniteBlock } from "../src/quant/finite.ts";
import { FDB_KERNELS, lutLayout, prepBytes, type FdbKernel, type KernelCall, type Linear, type RuntimeFormat } from "../src/quant/runtime.ts";
import { runtimeFor, TYPE_ROWS, typeByGgml, typeByName, typeBySafetensors, type RuntimeChoice, type TensorType } from "../src/quant/table.ts";
import { lutqBound } from "./helpers/fdb-fixtures.ts";
import { assertClose, rng } from "./helpers/numeric.ts";

/**
 * Round trip: RMS error / RMS of the data, on roughly gaussian weights with outliers (what model weights look
 * like). F16/BF16 are their rounding; the block types are llama.cpp's; fdb2 is 2 bits per weight.
 */
const PRECISION: Record<string, number> = {
  F32: 0, F16: 2 ** -11, BF16: 2 ** -8, Q8_0: 0.015, Q4_0: 0.2, Q4_1: 0.13,
  FDB2_G32: 0.3, FDB2_G64: 0.38, FDB2_G128: 0.42, FDB2_G256: 0.48,
};

/**
 * Scalar reference vs float product: exact formats differ by float rounding only (relative to the largest output,
 * as assertClose takes it); 'fdb2-lut' rounds each 4-activation partial sum to 1/31 of its group's largest
 * (KERNELS.md), within the rigorous per-output bound of lutqBound.
 */
const ORACLE: Record<string, "exact" | "table-rounded"> = {
  f32: "exact", q8: "exact", q4: "exact", "fdb2-lut-exact": "exact", "fdb2-popcount": "exact", "fdb2-lut": "table-rounded",
};

const readable = TYPE_ROWS.filter((r) => r.decode);
const KERNELS = Object.keys(FDB_KERNELS) as FdbKernel[];

/** Roughly gaussian values (sum of four uniforms) with an outlier every 37th. */
function weights(n: number, rand: () => number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = (rand() + rand() + rand() + rand() - 2) * 0.05 * (i % 37 === 5 ? 12 : 1);
  return w;
}

test("registration: every name, GGUF id and safetensors dtype belongs to one row, and finds it", () => {
  const seen = { name: new Set<string>(), ggml: new Set<number>(), st: new Set<string>() };
  for (const r of TYPE_ROWS) {
    assert.not.ok(seen.name.has(r.name), `name ${r.name} twice`);
    seen.name.add(r.name);
    assert.is(typeByName(r.name), r);
    if (r.ggml !== undefined) { assert.not.ok(seen.ggml.has(r.ggml), `GGUF id ${r.ggml} twice`); seen.ggml.add(r.ggml); assert.is(typeByGgml(r.ggml), r); }
    if (r.safetensors) { assert.not.ok(seen.st.has(r.safetensors), `dtype ${r.safetensors} twice`); seen.st.add(r.safetensors); assert.is(typeBySafetensors(r.safetensors), r); }
    assert.ok(Number.isSafeInteger(r.blockSize) && r.blockSize > 0 && Number.isSafeInteger(r.blockBytes) && r.blockBytes > 0, `${r.name} block sizes`);
  }
  console.log(`  ${TYPE_ROWS.length} rows, ${readable.length} readable`);
});

test("rows dbllm cannot read are refused by name, never run", () => {
  for (const r of TYPE_ROWS.filter((t) => !t.decode)) {
    assert.not.ok(r.encode || r.runtime || r.floats, `${r.name} has storage functions but no decoder`);
    try {
      runtimeFor(r, "auto", "matrix", "blk.0.attn_q.weight");
      assert.unreachable(`${r.name} got a runtime format`);
    } catch (e) {
      assert.instance(e, DbllmError);
      assert.is((e as DbllmError).code, "UNSUPPORTED_TENSOR_TYPE");
      assert.match((e as DbllmError).message, `type ${r.name}, which dbllm cannot read`);
    }
  }
});

test("storage: encode → decode round trip within each row's precision class, on awkward block counts", () => {
  const rand = rng(41);
  for (const r of readable) {
    assert.ok(r.encode, `${r.name} can be read but not written`);
    assert.ok(PRECISION[r.name] !== undefined, `${r.name} has no precision class in this test`);
    let errSq = 0, sumSq = 0;
    for (const blocks of [1, 3, 17, 33, 127]) {
      const n = blocks * r.blockSize, w = weights(n, rand);
      const stored = r.encode!(w);
      assert.is(stored.byteLength, blocks * r.blockBytes, `${r.name}: ${blocks} blocks encode to ${stored.byteLength} bytes`);
      const back = new Float32Array(n);
      r.decode!(stored, back);
      for (let i = 0; i < n; i++) { errSq += (back[i] - w[i]) ** 2; sumSq += w[i] ** 2; }
    }
    const rel = Math.sqrt(errSq / sumSq);
    console.log(`  ${r.name.padEnd(9)} round trip: RMS error / RMS = ${rel.toExponential(3)} (class ${PRECISION[r.name]})`);
    assert.ok(rel <= PRECISION[r.name], `${r.name}: round-trip error ${rel} beyond ${PRECISION[r.name]}`);
  }
});

test("load-time float check: a NaN or ±Inf at every declared float field of every row is found first", () => {
  const poisons = { f32: [0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001], f16: [0x7c00, 0xfc00, 0x7e00, 0x7c01], bf16: [0x7f80, 0xff80, 0x7fc0] } as const;
  // the largest finite values, -0 and subnormals are not flagged
  const edges = { f32: [0x7f7fffff, 0xff7fffff, 0x80000000, 0x00000001], f16: [0x7bff, 0xfbff, 0x8000, 0x0001], bf16: [0x7f7f, 0xff7f, 0x8000, 0x0001] } as const;
  const r = rng(7);
  let checks = 0;
  for (const type of readable) {
    const f = type.floats;
    assert.ok(f, `${type.name} declares no float fields: its scales would escape the NaN check`);
    const width = f.kind === "f32" ? 4 : 2;
    for (const blocks of [1, 2, 3, 5, 8, 13, 64, 257]) {
      for (const shift of [0, 1, 2, 3]) { // a view at every alignment of its buffer
        const buf = new Uint8Array(shift + blocks * type.blockBytes);
        const src = buf.subarray(shift);
        for (let i = 0; i < src.length; i++) src[i] = Math.floor(r() * 256);
        const write = (block: number, field: number, bits: number) => {
          const at = block * type.blockBytes + f.at[field];
          for (let k = 0; k < width; k++) src[at + k] = (bits >>> (8 * k)) & 255;
        };
        // random bytes: clear every float's exponent, then plant the edge values
        for (let b = 0; b < blocks; b++) f.at.forEach((_, k) => write(b, k, edges[f.kind][(b + k) % edges[f.kind].length]));
        assert.is(firstNonFiniteBlock(type, src), -1, `${type.name} ${blocks} blocks, shift ${shift}: finite`);
        for (const at of new Set([0, blocks - 1, Math.floor(blocks / 2)])) {
          const field = at % f.at.length, bits = poisons[f.kind][at % poisons[f.kind].length];
          const saved = src.slice();
          write(at, field, bits);
          if (at + 1 < blocks) write(blocks - 1, 0, poisons[f.kind][0]); // a later one must not be reported first
          assert.is(firstNonFiniteBlock(type, src), at, `${type.name} ${blocks} blocks, shift ${shift}: poisoned block ${at}, field ${field}`);
          src.set(saved);
          checks++;
        }
      }
    }
  }
  console.log(`  ${checks} poisoned positions found over ${readable.length} types`);
});

/** The runtime formats a row's matrices can run in: one per fdb kernel choice, deduplicated. */
function choices(r: TensorType): RuntimeChoice[] {
  const all = KERNELS.map((k) => runtimeFor(r, k, "matrix", "test"));
  return all.filter((c, i) => all.findIndex((d) => d.format === c.format) === i);
}

/** The activations the kernels multiply with, read back from a prepared input. */
function seenActivations(e: Engine, f: RuntimeFormat, ws: number, x: Float32Array, T: number, K: number, g: number): Float64Array {
  if (!f.prep) return Float64Array.from(x);
  const L = f.prep.layout(ws, T, K, g), sg = f.prep.scaleGroup ?? g;
  const q = f.prep.codes === "i8" ? new Int8Array(e.memory.buffer, L.q, T * K) : new Int16Array(e.memory.buffer, L.q, T * K);
  const s = e.f32(L.scales, T * (K / sg));
  return Float64Array.from({ length: T * K }, (_, i) => q[i] * s[Math.floor(i / K) * (K / sg) + Math.floor((i % K) / sg)]);
}

const builds = detectFeatures().relaxedSimd ? (["simd", "relaxed"] as const) : (["simd"] as const);

for (const simd of builds) {
  test(`[${simd}] runtime formats: packed bytes = the kernel's count; SIMD = scalar reference = float product; row look-up = decode`, async () => {
    const e = await Engine.create({ simd });
    const rand = rng(43);
    let products = 0;
    for (const r of readable) {
      for (const { format: f, group: g } of choices(r)) {
        assert.ok(ORACLE[f.name] !== undefined, `runtime format ${f.name} has no oracle tolerance in this test`);
        const b = r.blockSize;
        for (const [T, M, blocks] of [[1, 1, 1], [3, 5, 3], [2, 17, 2], [5, 33, 5], [6, 16, 4]]) {
          const K = Math.max(b, g) * blocks, label = `${r.name} as ${f.name} T=${T} K=${K} M=${M}`;
          assert.is(f.bytes(M, K, g), f.packedBytes(e.k, M, K, g), `${label}: packed bytes`);
          const stored = r.encode!(weights(M * K, rand)), dense = new Float32Array(M * K);
          r.decode!(stored, dense);
          const x = weights(T * K, rand).map((v) => v * 20);
          const w: Linear = { format: f, ptr: e.arena.alloc(f.bytes(M, K, g), "w"), rows: M, cols: K, group: g, bias: 0 };
          // packed in two uneven chunks of rows, as the loader streams them
          const split = Math.min(M - 1, 2), rowBytes = stored.byteLength / M;
          for (const [r0, n] of [[0, split], [split, M - split]]) {
            if (n === 0) continue;
            const rows = f.input === "stored" ? stored.subarray(r0 * rowBytes, (r0 + n) * rowBytes) : dense.subarray(r0 * K, (r0 + n) * K);
            f.pack(e, w, r0, n, rows);
          }
          const px = e.allocF32(T * K, "x"), ps = e.arena.alloc(stored.byteLength, "stored"), pa = e.allocF32(T * M, "a"), pr = e.allocF32(T * M, "r");
          const ws = e.arena.alloc(Math.max(16, f.prep ? prepBytes(f.prep, T, K, g) : 0), "ws");
          e.f32(px, T * K).set(x);
          e.u8(ps, stored.byteLength).set(stored);
          f.prep?.run(e, ws, px, T, K, g);
          const run = (c: KernelCall, out: number) => {
            e.f32(out, T * M).fill(Number.NaN);
            (e.k[c.fn] as (...a: number[]) => void)(...c.args, 0, M);
          };
          run(f.matmul(pa, px, ws, w, T), pa);
          run(f.reference(pr, px, ws, w, ps, T), pr);
          const xs = seenActivations(e, f, ws, x, T, K, g), oracle = new Float64Array(T * M);
          for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) {
            let acc = 0;
            for (let k = 0; k < K; k++) acc += dense[m * K + k] * xs[t * K + k];
            oracle[t * M + m] = acc;
          }
          assertClose(`${label}: SIMD vs scalar reference`, e.f32(pa, T * M), e.f32(pr, T * M), 1e-5);
          if (ORACLE[f.name] === "exact") assertClose(`${label}: scalar reference vs float product`, e.f32(pr, T * M), oracle, 1e-5);
          else {
            const ref = e.f32(pr, T * M), bound = lutqBound(stored, e.f32(lutLayout(ws, T, K, g).tscales, T * (K / g)), T, M, K, g, oracle);
            for (let i = 0; i < T * M; i++) assert.ok(Math.abs(ref[i] - oracle[i]) <= bound[i], `${label}: output ${i} ${ref[i]} vs ${oracle[i]} beyond the table-rounding bound ${bound[i]}`);
          }
          products++;
          for (const p of [w.ptr, px, ps, pa, pr, ws]) e.arena.dealloc(p);
        }
      }
      // embeddings: the format the loader gives them looks a row up exactly as the decoder reads it
      const embed = runtimeFor(r, "auto", "embedding", "token_embd.weight"), f = embed.format;
      const M = 7, K = Math.max(r.blockSize, embed.group) * 2;
      const stored = r.encode!(weights(M * K, rand)), dense = new Float32Array(M * K);
      r.decode!(stored, dense);
      const w: Linear = { format: f, ptr: e.arena.alloc(f.bytes(M, K, embed.group), "embed"), rows: M, cols: K, group: embed.group, bias: 0 };
      f.pack(e, w, 0, M, f.input === "stored" ? stored : dense);
      const out = e.allocF32(K, "row");
      for (const row of [0, 3, M - 1]) {
        f.embed!(e, out, w, row);
        assert.equal(Array.from(e.f32(out, K)), Array.from(dense.subarray(row * K, (row + 1) * K)), `${r.name} embedding (${f.name}) row ${row}`);
      }
      e.arena.dealloc(w.ptr);
      e.arena.dealloc(out);
    }
    console.log(`  ${products} products over ${readable.length} readable rows`);
  });
}

test.run();
