// One end-to-end speed measurement in a fresh process (so each engine and kernel build starts clean):
// prefill tok/s over a prompt, then decode tok/s over generated tokens (forward + sampling per token).
// Prints one JSON line. Used by bench/e2e.ts.
import { parseArgs } from "node:util";
import { loadModel } from "../src/index.ts";
import { Rng } from "../src/generate/rng.ts";
import { sample } from "../src/generate/sampler.ts";
import { DEFAULT_SAMPLING } from "../src/generate/options.ts";
import { getLlama } from "../tests/helpers/llama-ref.ts";

const { values } = parseArgs({ options: {
  engine: { type: "string" }, model: { type: "string" }, kernel: { type: "string", default: "auto" }, threads: { type: "string", default: "1" },
  prompt: { type: "string", default: "128" }, decode: { type: "string", default: "64" }, split: { type: "string", default: "adaptive" },
} });
const P = Number(values.prompt), D = Number(values.decode);
const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % 30000);
const now = () => performance.now();

if (values.engine === "dbllm") {
  const model = await loadModel(values.model!, { contextLength: P + D + 8, kernel: values.kernel as "auto", threads: Number(values.threads), threadSplitting: values.split as "adaptive" });
  const session = model.createSession();
  const V = model.config.vocabSize, rng = new Rng(1);
  const warm = await session.evaluate(prompt.slice(0, 8)); void warm; session.reset(); // compile kernels first
  let t = now();
  const logits = await session.evaluate(prompt);
  const prefill = (P * 1000) / (now() - t);
  let tok = sample(logits.subarray((P - 1) * V), DEFAULT_SAMPLING, rng);
  t = now();
  for (let i = 0; i < D; i++) tok = sample(await session.evaluate([tok]), DEFAULT_SAMPLING, rng);
  const decode = (D * 1000) / (now() - t);
  const info = model.info();
  console.log(JSON.stringify({ prefill, decode, kernels: info.kernels, threads: info.threads, weightBytes: info.weightBytes, wasmMemoryBytes: info.wasmMemoryBytes }));
  model.dispose();
} else {
  const llama = await getLlama();
  const m = await llama.loadModel({ modelPath: values.model, gpuLayers: 0 });
  const ctx = await m.createContext({ contextSize: P + D + 8, batchSize: P, threads: 1, flashAttention: false });
  const seq = ctx.getSequence();
  const next = { generateNext: { token: true, options: { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, seed: 1 } } };
  await seq.controlledEvaluate(prompt.slice(0, 8)); await seq.clearHistory();
  let t = now();
  const res = await seq.controlledEvaluate(prompt.map((x, i) => (i === P - 1 ? [x, next] : x)));
  const prefill = (P * 1000) / (now() - t);
  let tok = res[P - 1].next.token;
  t = now();
  for (let i = 0; i < D; i++) tok = (await seq.controlledEvaluate([[tok, next]]))[0].next.token;
  const decode = (D * 1000) / (now() - t);
  console.log(JSON.stringify({ prefill, decode }));
  await ctx.dispose(); await m.dispose();
}
