// Accuracy report (issue 3): perplexity of the real SmolLM2-135M-Instruct on held-out text (the last 10% of
// Moby Dick) at float, q8, FDB (g64, g128, activation-aware g64) and RTN 2-bit (g64, g128), each fdb2 model
// under both lookup-table kernels; beside it llama.cpp's Q2_K and Q4_0 made by llama.cpp's own quantizer from
// the same float weights (perplexity from llama.cpp's logits over the same windows).
// Usage: node --import tsx bench/accuracy.ts [--tokens 4096] [--ctx 512]
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadModel } from "../src/index.ts";
import { negLogLikelihood, perplexity } from "../src/eval/perplexity.ts";
import { readGGUF } from "../src/formats/gguf.ts";
import { typedMetadata, writeGGUF } from "../src/formats/gguf-write.ts";
import { bufferSource } from "../src/bytes/source.ts";
import { openModel } from "../src/open/open-model.ts";
import { collectImportance } from "../src/conversion/calibrate.ts";
import { quantizeModel, type QuantizeOptions, type QuantizeReport } from "../src/conversion/quantize.ts";
import { typeByName } from "../src/quant/table.ts";
import { SMOLLM2_SHA256, smolLM2Path } from "../scripts/assets.ts";
import { LlamaRef } from "../tests/helpers/llama-ref.ts";
import { saveResult, WORK } from "./harness.ts";
import { llamaQuantize } from "./lib/llama-quantize.ts";
import { calibrationText, heldOutText } from "./lib/texts.ts";

const { values } = parseArgs({ options: { tokens: { type: "string", default: "4096" }, ctx: { type: "string", default: "512" } } });
const N = Number(values.tokens), CTX = Number(values.ctx);
const teacher = smolLM2Path();
const f32 = path.join(WORK, "smollm2-f32.gguf");
const log = (s: string) => process.stderr.write(s + "\n");

async function dequantize(src: string, dst: string): Promise<void> {
  const size = statSync(src).size, fd = openSync(src, "r");
  const head = Buffer.alloc(Math.min(size, 16 << 20)); readSync(fd, head, 0, head.length, 0);
  const file = await readGGUF({ ...bufferSource(head), size });
  const F32 = typeByName("F32")!;
  const tensors = file.tensors.map((t) => ({ name: t.name, type: F32, shape: [...t.shape], data: () => {
    const raw = Buffer.alloc(t.byteLength); readSync(fd, raw, 0, t.byteLength, t.offset);
    const out = new Float32Array(t.shape.reduce((a, b) => a * b, 1)); t.type.decode!(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), out);
    return new Uint8Array(out.buffer);
  } }));
  const out = openSync(dst, "w");
  for (const c of writeGGUF(typedMetadata(file, (k) => k !== "general.file_type"), tensors, file.alignment)) writeSync(out, c);
  closeSync(out); closeSync(fd);
}

async function quantizeTo(out: string, o: Partial<QuantizeOptions>, importance?: Map<string, Float64Array>): Promise<QuantizeReport> {
  const model = await openModel(teacher);
  const fd = openSync(out, "w");
  const gen = quantizeModel(model, { method: "fdb", groupSize: 64, embed: "q8", head: "q8", importance, ...o });
  let r = await gen.next();
  for (; !r.done; r = await gen.next()) writeSync(fd, r.value);
  closeSync(fd);
  await Promise.all(model.files.map((f) => f.close()));
  return r.value;
}

if (!existsSync(f32)) { log("dequantizing the teacher to F32"); await dequantize(teacher, f32); }
const probe = await loadModel(f32, { contextLength: CTX });
const ids = probe.tokenizer.encode(heldOutText(), { addSpecialTokens: false }).slice(0, N);
const V = probe.config.vocabSize;
probe.dispose();
log(`held-out text: ${ids.length} tokens, windows of ${CTX}`);

const rows: Record<string, unknown>[] = [];
async function evalDbllm(label: string, file: string, bits: { linear: number; total: number } | undefined, kernel: "lut" | "lut-exact" = "lut-exact") {
  const t0 = Date.now();
  const m = await loadModel(file, { contextLength: CTX, kernel });
  const r = await perplexity(m.createSession(), ids, V, { ctx: CTX });
  rows.push({ label, engine: "dbllm", kernel: file.endsWith(".dbllm") ? kernel : "f32", perplexity: r.perplexity, tokens: r.scoredTokens, linearBitsPerWeight: bits?.linear, totalBitsPerWeight: bits?.total, seconds: (Date.now() - t0) / 1000 });
  log(`${label.padEnd(40)} ppl ${r.perplexity.toFixed(3)}`);
  m.dispose();
}
async function evalLlama(label: string, file: string) {
  const ref = await LlamaRef.open(file, CTX);
  let nll = 0, n = 0;
  for (let s = 0; s < ids.length; s += CTX) {
    const w = ids.slice(s, s + CTX); if (w.length < 2) break;
    const lg = await ref.logits(w);
    for (let i = 0; i + 1 < w.length; i++) { nll += negLogLikelihood(lg[i], 0, V, w[i + 1]); n++; }
  }
  await ref.dispose();
  const bpw = (statSync(file).size * 8) / 134.5e6;
  rows.push({ label, engine: "llama.cpp", perplexity: Math.exp(nll / n), tokens: n, fileBitsPerParameter: bpw });
  log(`${label.padEnd(40)} ppl ${Math.exp(nll / n).toFixed(3)}`);
}

await evalDbllm("float (teacher dequantized to F32)", f32, { linear: 32, total: 32 });
await evalLlama("llama.cpp F32 (same file)", f32);
const variants: [string, string, Partial<QuantizeOptions>, boolean][] = [
  ["q8 (Q8_0 block matrices)", "smol-q8.dbllm", { method: "q8" }, false],
  ["FDB g64", "smol-fdb-g64.dbllm", { method: "fdb", groupSize: 64 }, false],
  ["FDB g128", "smol-fdb-g128.dbllm", { method: "fdb", groupSize: 128 }, false],
  ["FDB g64, activation-aware (SOTU 1990s)", "smol-fdb-g64-calib.dbllm", { method: "fdb", groupSize: 64 }, true],
  ["RTN 2-bit g64", "smol-rtn-g64.dbllm", { method: "rtn", groupSize: 64 }, false],
  ["RTN 2-bit g128", "smol-rtn-g128.dbllm", { method: "rtn", groupSize: 128 }, false],
];
let importance: Map<string, Float64Array> | undefined;
for (const [label, name, o, calib] of variants) {
  const file = path.join(WORK, name);
  if (calib && !importance) {
    const m = await openModel(teacher);
    importance = await collectImportance(m, m.tokenizer.encode(calibrationText(), { addSpecialTokens: false }).slice(0, 4096));
    await Promise.all(m.files.map((f) => f.close()));
  }
  const report = await quantizeTo(file, o, calib ? importance : undefined);
  const bits = { linear: report.linearBitsPerWeight, total: report.totalBitsPerWeight };
  await evalDbllm(`${label}, exact kernel`, file, bits, "lut-exact");
  if (o.method !== "q8") await evalDbllm(`${label}, fast kernel`, file, bits, "lut");
}
for (const [ftype, label] of [["Q2_K", "llama.cpp Q2_K (its quantizer, from F32)"], ["Q4_0", "llama.cpp Q4_0 (its quantizer, from F32)"]] as const) {
  const file = path.join(WORK, `smollm2-${ftype}.gguf`);
  if (!existsSync(file)) llamaQuantize(f32, file, ftype);
  await evalLlama(label, file);
}
const saved = saveResult("accuracy-smollm2", { benchmark: "accuracy", teacher: { file: path.basename(teacher), sha256: SMOLLM2_SHA256 }, text: "Moby Dick, last 10% (held out)", tokens: ids.length, ctx: CTX, rows });
console.log("| model | engine | bits/weight (block matrices) | perplexity |\n|---|---|---:|---:|");
for (const r of rows) console.log(`| ${r.label} | ${r.engine} | ${r.linearBitsPerWeight !== undefined ? (r.linearBitsPerWeight as number).toFixed(2) : r.fileBitsPerParameter !== undefined ? `${(r.fileBitsPerParameter as number).toFixed(2)} (whole file)` : ""} | ${(r.perplexity as number).toFixed(2)} |`);
console.log(`saved ${saved}`);

