// What a 4-bit embedding/head costs in accuracy (issue 11): a 2-bit model with its Q8_0 token embeddings and
// output head re-encoded as Q4_0 (the same rows, decoded from Q8_0 and rounded to 4 bits per 32), perplexity on
// held-out text (the last 10 % of Moby Dick) with both lookup-table kernels, beside the model as it is. By
// default the embedded model, whose head is its (tied) embedding matrix. Its speed is in `bench/e2e.ts --heads q8,q4`.
// Usage: node --import tsx bench/head-q4.ts [--model file.dbllm] [--tokens 4096] [--ctx 512]
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadModel } from "../src/index.ts";
import { perplexity } from "../src/eval/perplexity.ts";
import { bufferSource } from "../src/bytes/source.ts";
import { readDbllm } from "../src/formats/dbllm.ts";
import { writeSafetensors, type SafetensorsTensorOut } from "../src/formats/safetensors.ts";
import { typeByName } from "../src/quant/table.ts";
import { defaultModelPath } from "../src/cli/args.ts";
import { saveResult, WORK } from "./harness.ts";
import { heldOutText } from "./lib/texts.ts";

const { values } = parseArgs({ options: { model: { type: "string" }, tokens: { type: "string", default: "4096" }, ctx: { type: "string", default: "512" } } });
const source = values.model ?? defaultModelPath();
const N = Number(values.tokens), CTX = Number(values.ctx);
const HEADS = new Set(["token_embd.weight", "output.weight"]);

/** The .dbllm file at `src` with its Q8_0 embeddings/head as Q4_0, written to `dst`; returns the tensors changed. */
async function withQ4Head(src: string, dst: string): Promise<string[]> {
  const buf = readFileSync(src);
  const d = await readDbllm(bufferSource(buf, src));
  const Q8 = typeByName("Q8_0")!, Q4 = typeByName("Q4_0")!;
  const types = JSON.parse(d.file.metadata["dbllm.tensor_types"]) as Record<string, { type: string; shape: number[] }>;
  const changed: string[] = [];
  const outs: SafetensorsTensorOut[] = d.tensors.map((t) => {
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + t.offset, t.byteLength);
    if (!HEADS.has(t.name) || t.type !== Q8) return { name: t.name, dtype: types[t.name] ? "U8" : t.type.safetensors!, shape: types[t.name] ? [t.shape[0], t.byteLength / t.shape[0]] : [...t.shape], byteLength: t.byteLength, data: bytes };
    const w = new Float32Array(t.shape[0] * t.shape[1]);
    Q8.decode!(bytes, w);
    const enc = Q4.encode!(w);
    types[t.name] = { type: "Q4_0", shape: [t.shape[0], t.shape[1]] };
    changed.push(t.name);
    return { name: t.name, dtype: "U8", shape: [t.shape[0], enc.length / t.shape[0]], byteLength: enc.length, data: enc };
  });
  const quantization = { ...d.quantization, embed: "q4", head: "q4" };
  const metadata = { ...d.file.metadata, "dbllm.tensor_types": JSON.stringify(types), "dbllm.quantization": JSON.stringify(quantization) };
  writeFileSync(dst, Buffer.concat([...writeSafetensors(outs, metadata)]));
  return changed;
}

const q4 = path.join(WORK, path.basename(source).replace(/\.dbllm$/, "") + "-q4head.dbllm");
const changed = await withQ4Head(source, q4);
if (!changed.length) throw new Error(`${source} has no Q8_0 token_embd/output tensor to re-encode`);
process.stderr.write(`wrote ${q4} (${changed.join(", ")} as Q4_0)\n`);

const probe = await loadModel(source, { contextLength: CTX });
const ids = probe.tokenizer.encode(heldOutText(), { addSpecialTokens: false }).slice(0, N);
const V = probe.config.vocabSize;
probe.dispose();

const rows: Record<string, unknown>[] = [];
for (const [label, file] of [["embeddings/head Q8_0 (as shipped)", source], ["embeddings/head Q4_0", q4]] as const) {
  for (const kernel of ["lut", "lut-exact"] as const) {
    const m = await loadModel(file, { contextLength: CTX, kernel });
    const r = await perplexity(m.createSession(), ids, V, { ctx: CTX });
    rows.push({ label, kernel, perplexity: r.perplexity, tokens: r.scoredTokens, fileBytes: statSync(file).size, weightBytes: m.info().weightBytes });
    process.stderr.write(`${label.padEnd(36)} ${kernel.padEnd(9)} ppl ${r.perplexity.toFixed(3)}\n`);
    m.dispose();
  }
}
const saved = saveResult("head-q4", { benchmark: "head-q4", model: path.basename(source), changed, text: "Moby Dick, last 10% (held out)", tokens: ids.length, ctx: CTX, rows });
console.log("| embeddings / head | kernel | file MiB | perplexity |\n|---|---|---:|---:|");
for (const r of rows) console.log(`| ${r.label} | ${r.kernel} | ${((r.fileBytes as number) / 2 ** 20).toFixed(1)} | ${(r.perplexity as number).toFixed(2)} |`);
console.log(`saved ${saved}`);
