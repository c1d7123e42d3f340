// Containers and tensor types: GGUF and safetensors round trips, and our decoding of every readable type
// against llama.cpp's Python reader (gguf-py) — on generated tensors with awkward values and on the real
// SmolLM2 GGUF.
import { openSync, closeSync, writeSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readGGUF } from "../src/formats/gguf.ts";
import { meta, writeGGUF } from "../src/formats/gguf-write.ts";
import { readSafetensors, writeSafetensors } from "../src/formats/safetensors.ts";
import { bufferSource } from "../src/bytes/source.ts";
import { f16ToF32, f32ToF16, f32ToBf16, bf16ToF32 } from "../src/quant/half.ts";
import { typeByName } from "../src/quant/table.ts";
import { smolLM2Path } from "../scripts/assets.ts";
import { ggufPyDequantize, numpyF16Bits } from "./helpers/gguf-py.ts";
import { assertClose, randomF32, rng } from "./helpers/numeric.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = workDir("formats");
const TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"] as const;

function awkward(n: number, seed: number): Float32Array {
  const r = rng(seed), v = randomF32(n, r, 2);
  for (let i = 0; i < n; i += 97) v[i] = [0, -0, 1e-8, -65504, 65504, 3e-5, -7.5, 1e4][(i / 97) % 8];
  for (let i = 64; i < 96 && i < n; i++) v[i] = 0; // an all-zero block
  for (let i = 128; i < 160 && i < n; i++) v[i] = 0.125; // a constant block
  return v;
}

function write(file: string, chunks: Iterable<Uint8Array>) {
  const fd = openSync(file, "w");
  try { for (const c of chunks) writeSync(fd, c); } finally { closeSync(fd); }
}

test("GGUF write → read round trip: metadata of every type, tensors, alignment", async () => {
  const tensors = TYPES.map((t, i) => ({ name: `t.${t}`, type: typeByName(t)!, shape: [3, 64], data: typeByName(t)!.encode!(awkward(192, i)) }));
  const file = path.join(dir, "rt.gguf");
  write(file, writeGGUF({
    "general.architecture": meta.str("llama"), "a.u32": meta.u32(4000000000), "a.i32": meta.i32(-5), "a.f32": meta.f32(0.5),
    "a.bool": meta.bool(true), "a.str": meta.str("héllo ✓"), "a.strs": meta.strings(["x", "", "ü"]), "a.f32s": meta.f32s([1, 2.5]), "a.u64": meta.u64(2 ** 40),
  }, tensors, 64));
  const f = await readGGUF(bufferSource(readFileSync(file)));
  assert.is(f.version, 3);
  assert.is(f.alignment, 64);
  assert.is(f.metadata.get("a.u32"), 4000000000);
  assert.is(f.metadata.get("a.i32"), -5);
  assert.is(f.metadata.get("a.f32"), 0.5);
  assert.is(f.metadata.get("a.bool"), true);
  assert.is(f.metadata.get("a.str"), "héllo ✓");
  assert.equal(f.metadata.get("a.strs"), ["x", "", "ü"]);
  assert.equal(Array.from(f.metadata.get("a.f32s") as Float32Array), [1, 2.5]);
  assert.is(f.metadata.get("a.u64"), 2 ** 40);
  const bytes = readFileSync(file);
  for (const [i, t] of f.tensors.entries()) {
    assert.is(t.name, tensors[i].name);
    assert.equal([...t.shape], [3, 64]);
    assert.is(t.offset % 64, 0);
    assert.equal(new Uint8Array(bytes.subarray(t.offset, t.offset + t.byteLength)), tensors[i].data);
  }
});

test("decoding F32/F16/BF16/Q8_0/Q4_0/Q4_1 equals gguf-py's dequantize", async () => {
  const n = 32 * 40;
  const tensors = TYPES.map((t, i) => ({ name: `t.${t}`, type: typeByName(t)!, shape: [40, 32], data: typeByName(t)!.encode!(awkward(n, 10 + i)) }));
  const file = path.join(dir, "types.gguf");
  write(file, writeGGUF({ "general.architecture": meta.str("llama") }, tensors));
  const ref = ggufPyDequantize(file, path.join(dir, "py-types"), n);
  const f = await readGGUF(bufferSource(readFileSync(file)));
  const bytes = readFileSync(file);
  for (const t of f.tensors) {
    const ours = new Float32Array(n);
    t.type.decode!(new Uint8Array(bytes.subarray(t.offset, t.offset + t.byteLength)), ours);
    assertClose(`${t.type.name} decode vs gguf-py`, ours, ref.get(t.name)!.values, 0, true);
  }
});

test("decoding the real SmolLM2 GGUF (Q4_1, Q8_0, F32 tensors) equals gguf-py's dequantize", async () => {
  const file = smolLM2Path();
  const f = await readGGUF(bufferSource(readFileSync(file)));
  const names = f.tensors.filter((t) => t.name.startsWith("blk.0.") || t.name.startsWith("blk.29.") || t.name === "token_embd.weight").map((t) => t.name);
  const limit = 200_000;
  const ref = ggufPyDequantize(file, path.join(dir, "py-smol"), limit, names);
  const fd = openSync(file, "r");
  try {
    const seen = new Set<string>();
    for (const t of f.tensors.filter((x) => names.includes(x.name))) {
      const count = Math.min(limit, t.shape.reduce((a, b) => a * b, 1));
      const blockBytes = Math.ceil(count / t.type.blockSize) * t.type.blockBytes;
      const raw = Buffer.alloc(blockBytes);
      (await import("node:fs")).readSync(fd, raw, 0, blockBytes, t.offset);
      const ours = new Float32Array(Math.ceil(count / t.type.blockSize) * t.type.blockSize);
      t.type.decode!(new Uint8Array(raw), ours);
      const r = ref.get(t.name)!;
      assert.is(r.type, t.type.name);
      const d = assertClose(`${t.name} (${t.type.name})`, ours.subarray(0, count), r.values, 0, true);
      void d;
      seen.add(t.type.name);
    }
    assert.equal([...seen].sort(), ["F32", "Q4_1", "Q8_0"]);
  } finally { closeSync(fd); }
});

test("f16 and bf16 conversions: exhaustive f16 → f32 → f16 round trip; f32 → f16 equals numpy on awkward values", () => {
  for (let h = 0; h < 65536; h++) {
    const v = f16ToF32(h);
    if (Number.isNaN(v)) continue;
    assert.is(f32ToF16(v), h, `f16 ${h.toString(16)} → ${v} → ${f32ToF16(v).toString(16)}`);
  }
  const vals = awkward(4096, 99);
  for (let i = 0; i < 64; i++) vals[i] = [65519, 65520, 1e5, -1e5, 5.96e-8, 2.98e-8, 6.1e-5, 1 + 2 ** -11][i % 8] * (i % 3 === 0 ? -1 : 1);
  const ref = numpyF16Bits(vals);
  let bad = 0;
  for (let i = 0; i < vals.length; i++) if (f32ToF16(vals[i]) !== ref[i]) bad++;
  console.log(`  f32→f16: ${vals.length - bad}/${vals.length} equal to numpy`);
  assert.is(bad, 0);
  for (const v of [0, 1, -2.5, 3.14159, 1e30, -1e-30]) assert.ok(Math.abs(bf16ToF32(f32ToBf16(v)) - v) <= Math.abs(v) * 2 ** -8);
});

test("safetensors write → read round trip: header padded to 64, tensors contiguous, metadata", async () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]), b = typeByName("F16")!.encode!(new Float32Array([0.5, -1]));
  const file = path.join(dir, "rt.safetensors");
  write(file, writeSafetensors([
    { name: "a", dtype: "F32", shape: [2, 3], byteLength: 24, data: new Uint8Array(a.buffer) },
    { name: "b", dtype: "F16", shape: [2], byteLength: 4, data: b },
  ], { format: "pt", note: "ü" }));
  const st = await readSafetensors(bufferSource(readFileSync(file)));
  assert.equal(st.metadata, { format: "pt", note: "ü" });
  const bytes = readFileSync(file);
  const ta = st.tensors.find((t) => t.name === "a")!;
  assert.is(ta.offset % 64, 0);
  assert.equal(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + ta.offset, bytes.byteOffset + ta.offset + 24))), Array.from(a));
  assert.is(st.tensors.find((t) => t.name === "b")!.type.name, "F16");
});

test.run();
