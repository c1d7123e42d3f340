// End-to-end speed of dbllm's f32 path beside llama.cpp (node-llama-cpp, prebuilt CPU build) on the same F32
// GGUF of a SmolLM2-135M-shaped random model (30 layers, dim 576, ffn 1536, 9/3 heads, vocab 49152), one thread
// each. Runs alternate between the two engines; medians of the repetitions and their ratio are reported.
// Usage: node --import tsx bench/e2e-f32.ts [--reps 5] [--prompt 128] [--decode 64]
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadModel } from "../src/index.ts";
import { argmax } from "../src/generate/sampler.ts";
import { buildRandomModel } from "../tests/helpers/random-model.ts";
import { getLlama } from "../tests/helpers/llama-ref.ts";
import { median, now, saveResult, WORK } from "./harness.ts";

const { values } = parseArgs({ options: { reps: { type: "string", default: "5" }, prompt: { type: "string", default: "128" }, decode: { type: "string", default: "64" } } });
const REPS = Number(values.reps), P = Number(values.prompt), D = Number(values.decode);

const SHAPE = { arch: "llama", dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, ffnDim: 1536, tied: true, vocabSize: 49152, merges: 200, ropeTheta: 100000, contextLength: 2048, seed: 7 } as const;

const dir = path.join(WORK, "smollm2-shape");
const gguf = path.join(dir, "model.gguf");
if (!existsSync(gguf)) {
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`building ${gguf} (F32, ~540 MB)\n`);
  buildRandomModel(dir, { ...SHAPE, hf: false });
}
const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % 40000);

const model = await loadModel(gguf, { contextLength: P + D + 8, threads: 1 }); // one thread, like llama.cpp below
const session = model.createSession();
const V = model.config.vocabSize;

async function runDbllm(): Promise<{ prefill: number; decode: number }> {
  session.reset();
  let t = now();
  const logits = await session.evaluate(prompt);
  const prefill = (P * 1000) / (now() - t);
  let tok = argmax(logits.subarray((P - 1) * V));
  t = now();
  for (let i = 0; i < D; i++) tok = argmax(await session.evaluate([tok]));
  const decode = (D * 1000) / (now() - t);
  return { prefill, decode };
}

const llama = await getLlama();
const lmodel = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
const lctx = await lmodel.createContext({ contextSize: P + D + 8, batchSize: P, threads: 1, flashAttention: false });
const seq = lctx.getSequence();

async function runLlama(): Promise<{ prefill: number; decode: number }> {
  await seq.clearHistory();
  let t = now();
  const res = await seq.controlledEvaluate(prompt.map((x, i) => (i === P - 1 ? [x, { generateNext: { token: true, options: { temperature: 0 } } }] : x)));
  const prefill = (P * 1000) / (now() - t);
  let tok = res[P - 1].next.token;
  t = now();
  for (let i = 0; i < D; i++) {
    const r = await seq.controlledEvaluate([[tok, { generateNext: { token: true, options: { temperature: 0 } } }]]);
    tok = r[0].next.token;
  }
  const decode = (D * 1000) / (now() - t);
  return { prefill, decode };
}

await runDbllm(); await runLlama(); // warm-up
const ours: { prefill: number; decode: number }[] = [], theirs: { prefill: number; decode: number }[] = [];
for (let r = 0; r < REPS; r++) {
  ours.push(await runDbllm());
  theirs.push(await runLlama());
  process.stderr.write(`rep ${r + 1}/${REPS}: dbllm ${ours[r].prefill.toFixed(1)}/${ours[r].decode.toFixed(1)}  llama.cpp ${theirs[r].prefill.toFixed(1)}/${theirs[r].decode.toFixed(1)} tok/s (prefill/decode)\n`);
}
const med = (xs: { prefill: number; decode: number }[], k: "prefill" | "decode") => median(xs.map((x) => x[k]));
const result = {
  benchmark: "e2e-f32",
  model: { ...SHAPE, file: "random F32 GGUF", bytes: model.info().weightBytes },
  settings: { reps: REPS, promptTokens: P, decodeTokens: D, threads: 1, kernels: model.info().kernels.build },
  dbllm: { prefillTokPerSec: med(ours, "prefill"), decodeTokPerSec: med(ours, "decode"), runs: ours },
  llamaCpp: { prefillTokPerSec: med(theirs, "prefill"), decodeTokPerSec: med(theirs, "decode"), runs: theirs, version: "node-llama-cpp 3.22.1" },
  ratio: { prefill: med(ours, "prefill") / med(theirs, "prefill"), decode: med(ours, "decode") / med(theirs, "decode") },
};
const file = saveResult(`e2e-f32-${model.info().kernels.build.replace(/-threads$/, "")}`, result);
console.log(JSON.stringify({ dbllm: { prefill: result.dbllm.prefillTokPerSec, decode: result.dbllm.decodeTokPerSec }, llamaCpp: { prefill: result.llamaCpp.prefillTokPerSec, decode: result.llamaCpp.decodeTokPerSec }, ratio: result.ratio }, null, 1));
console.log(`saved ${file}`);
await lctx.dispose(); await lmodel.dispose();
