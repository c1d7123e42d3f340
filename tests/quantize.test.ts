// dbllm quantize end to end: .dbllm write → read round trip, determinism, the fit on exactly representable
// weights, logits of quantized models against the float model, typed errors for malformed .dbllm files.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError, loadModel } from "../src/index.ts";
import { readDbllm } from "../src/formats/dbllm.ts";
import { readSafetensors } from "../src/formats/safetensors.ts";
import { bufferSource } from "../src/bytes/source.ts";
import { openModel } from "../src/open/open-model.ts";
import { quantizeModel, type QuantizeOptions, type QuantizeReport } from "../src/conversion/quantize.ts";
import { buildRandomModel } from "./helpers/random-model.ts";
import { maxDiff } from "./helpers/numeric.ts";
import { workDir } from "./helpers/workdir.ts";
import { pythonLibDir } from "../scripts/assets.ts";

const dir = workDir("quantize");
const exact = buildRandomModel(path.join(dir, "exact"), { arch: "llama", dim: 128, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 256, tied: false, merges: 200, seed: 31, fdbExactGroup: 64 });
const qwen = buildRandomModel(path.join(dir, "qwen"), { arch: "qwen2", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 256, tied: true, merges: 150, seed: 32, hfDtype: "BF16" });

async function quantize(src: string, out: string, o: Partial<QuantizeOptions> = {}): Promise<QuantizeReport> {
  const model = await openModel(src);
  const chunks: Uint8Array[] = [];
  const gen = quantizeModel(model, { method: "fdb", groupSize: 64, embed: "q8", head: "q8", ...o });
  let r = await gen.next();
  for (; !r.done; r = await gen.next()) chunks.push(r.value);
  await Promise.all(model.files.map((f) => f.close()));
  writeFileSync(out, Buffer.concat(chunks));
  return r.value;
}

const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");

test("write → read round trip; a standard safetensors reader lists it; output is deterministic", async () => {
  const out = path.join(dir, "exact.dbllm");
  const report = await quantize(exact.gguf, out);
  const again = path.join(dir, "exact-again.dbllm");
  await quantize(exact.gguf, again);
  assert.is(sha(out), sha(again), "quantizing twice gives different files");
  const bytes = readFileSync(out);
  const plain = await readSafetensors(bufferSource(bytes));
  assert.is(plain.metadata.format, "dbllm");
  assert.ok(plain.tensors.every((t) => ["U8", "F32", "F16"].includes(t.type.name)), "only standard dtypes on disk");
  // the reference safetensors implementation (PyPI) opens and lists it
  const listed = execFileSync("python3", ["-c", "import sys, json; from safetensors import safe_open; f = safe_open(sys.argv[1], 'np'); t = f.get_tensor('blk.0.attn_q.weight'); print(json.dumps([f.metadata()['format'], len(list(f.keys())), list(t.shape), str(t.dtype)]))", out], {
    env: { ...process.env, PYTHONPATH: pythonLibDir() }, encoding: "utf8",
  });
  assert.equal(JSON.parse(listed), ["dbllm", plain.tensors.length, [128, 128 * 20 / 64], "uint8"]);
  const d = await readDbllm(bufferSource(bytes));
  const src = await openModel(exact.gguf);
  assert.equal(d.config, src.config);
  const q = d.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
  assert.is(q.type.name, "FDB2_G64");
  assert.equal([...q.shape], [128, 128]);
  assert.is(d.tensors.find((t) => t.name === "token_embd.weight")!.type.name, "Q8_0");
  // the tokenizer survives serialization
  const model = await loadModel(out, { contextLength: 64 });
  const text = "Call me Ishmael. <|im_start|>user\nhi";
  assert.equal(model.tokenizer.encode(text), src.tokenizer.encode(text));
  assert.is(model.tokenizer.chatTemplate, src.tokenizer.chatTemplate);
  console.log(`  ${report.tensors.length} tensors, ${report.linearBitsPerWeight.toFixed(3)} bits/weight in block matrices, ${(report.bytes / 1024).toFixed(0)} KiB`);
  assert.is(report.linearBitsPerWeight, 2.5);
});

test("weights that are exactly fdb2-representable are recovered, and logits track the float model", async () => {
  const out = path.join(dir, "exact.dbllm");
  const report = await quantize(exact.gguf, out);
  const worst = Math.max(...report.tensors.filter((t) => t.role === "linear").map((t) => t.relError!));
  console.log(`  worst relative weight error of a block matrix: ${worst.toExponential(3)}`);
  assert.ok(worst < 0.02, `fit did not recover representable weights: ${worst}`);
  const float = await loadModel(exact.gguf, { contextLength: 64 });
  const ids = float.tokenizer.encode("It is a way I have of driving off the spleen and regulating the circulation.");
  const V = float.config.vocabSize;
  const a = await float.createSession().evaluate(ids);
  // exact kernels: only int8/7-bit activation rounding separates them from the float model; the fast lookup
  // kernel also rounds its table entries to 6 bits (docs/KERNELS.md), so its bound is wider
  const bounds = { "lut-exact": [0.05, 0.015], popcount: [0.05, 0.015], lut: [0.15, 0.04] } as const;
  let quant = float;
  for (const [kernel, [maxBound, rmsBound]] of Object.entries(bounds)) {
    quant = await loadModel(out, { contextLength: 64, kernel: kernel as "lut" });
    const b = await quant.createSession().evaluate(ids);
    let worstRel = 0, agree = 0, se = 0, sn = 0;
    for (let p = 0; p < ids.length; p++) {
      const d = maxDiff(b.subarray(p * V, (p + 1) * V), a.subarray(p * V, (p + 1) * V));
      worstRel = Math.max(worstRel, d.maxAbs / d.maxRef);
      let ia = 0, ib = 0;
      for (let i = 1; i < V; i++) { if (a[p * V + i] > a[p * V + ia]) ia = i; if (b[p * V + i] > b[p * V + ib]) ib = i; }
      if (ia === ib) agree++;
    }
    for (let i = 0; i < a.length; i++) { se += (a[i] - b[i]) ** 2; sn += a[i] ** 2; }
    const rms = Math.sqrt(se / sn);
    console.log(`  ${kernel.padEnd(9)} vs float logits: worst max|Δ|/max|logit| = ${worstRel.toFixed(4)} (bound ${maxBound}), rms ${rms.toFixed(4)} (bound ${rmsBound}), top-1 agrees at ${agree}/${ids.length}`);
    assert.ok(worstRel < maxBound && rms < rmsBound);
    assert.ok(agree >= ids.length - 1);
  }
  const gen = await quant.generate("Call me", { temperature: 0, maxTokens: 8 }).done();
  assert.ok(gen.tokens.length > 0 || gen.stats.stopReason === "eos");
});

test("HF BF16 source, tied head, RTN vs FDB and g128: FDB fits better than RTN at the same bits", async () => {
  const fdb = await quantize(qwen.hfDir, path.join(dir, "q-fdb.dbllm"), { groupSize: 128 });
  const rtn = await quantize(qwen.hfDir, path.join(dir, "q-rtn.dbllm"), { groupSize: 128, method: "rtn" });
  const err = (r: QuantizeReport) => r.tensors.filter((t) => t.role === "linear").reduce((a, t) => a + t.relError!, 0);
  console.log(`  summed relative error of block matrices: FDB ${err(fdb).toFixed(3)} vs RTN ${err(rtn).toFixed(3)} (both ${fdb.linearBitsPerWeight.toFixed(3)} bits/weight)`);
  assert.ok(err(fdb) < err(rtn));
  assert.is(fdb.linearBitsPerWeight, rtn.linearBitsPerWeight);
  // K = 64 does not hold a group of 128: those matrices fall back to 64
  assert.ok(fdb.tensors.some((t) => t.type === "FDB2_G64") && fdb.tensors.some((t) => t.type === "FDB2_G128"));
  const m = await loadModel(path.join(dir, "q-fdb.dbllm"), { contextLength: 32 });
  assert.is(m.info().format, "dbllm");
  const r = await m.generate("the", { temperature: 0, maxTokens: 4 }).done();
  assert.ok(r.stats.generatedTokens >= 0);
});

test("malformed .dbllm files are rejected with typed errors", async () => {
  const bytes = new Uint8Array(readFileSync(path.join(dir, "exact.dbllm")));
  const expect = async (code: string, data: Uint8Array, label: string) => {
    try { await loadModel(data); assert.unreachable(label); } catch (e) {
      assert.instance(e, DbllmError, label);
      assert.is((e as DbllmError).code, code, `${label}: ${(e as Error).message}`);
      console.log(`  ok ${label} → ${code}`);
    }
  };
  await expect("TRUNCATED_FILE", bytes.slice(0, bytes.length - 10), "truncated");
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
  const patch = (from: string, to: string) => {
    const h = header.replace(from, to);
    assert.is.not(h, header, `fixture: ${from} not found`);
    const enc = new TextEncoder().encode(h.padEnd(headerLen).slice(0, headerLen));
    const out = bytes.slice(); out.set(enc, 8); return out;
  };
  await expect("UNSUPPORTED_VERSION", patch('"dbllm.version":"1"', '"dbllm.version":"9"'), "future version");
  await expect("INVALID_FILE", patch('"type\\":\\"FDB2_G64\\",\\"shape\\":[128,128]', '"type\\":\\"FDB2_G64\\",\\"shape\\":[128,256]'), "logical shape that does not match the bytes");
  await expect("UNSUPPORTED_TENSOR_TYPE", patch('FDB2_G64', 'FDB9_G64'), "unknown tensor type");
  await expect("INVALID_FILE", patch('"dbllm.config":"{', '"dbllm.config":"}'), "config that is not JSON");
});

test.run();
