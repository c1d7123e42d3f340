// One end-to-end speed measurement in a fresh process (so each engine and kernel build starts clean):
// prefill tok/s over a prompt, then decode tok/s over generated tokens (forward + sampling per token).
// Prints one JSON line. Used by bench/e2e.ts; with --profile <prefix> (dbllm only) it also writes V8 CPU
// profiles of the prefill and of the decode loop to <prefix>.prefill.cpuprofile / .decode.cpuprofile (bench/profile.ts).
import { writeFileSync } from "node:fs";
import { Session as Inspector } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { loadModel } from "../src/index.ts";
import { Rng } from "../src/generate/rng.ts";
import { sample } from "../src/generate/sampler.ts";
import { DEFAULT_SAMPLING } from "../src/generate/options.ts";
import type { Session } from "../src/model/session.ts";
import { getLlama } from "../tests/helpers/llama-ref.ts";

const { values } = parseArgs({ options: {
  engine: { type: "string" }, model: { type: "string" }, kernel: { type: "string", default: "auto" }, threads: { type: "string", default: "1" },
  prompt: { type: "string", default: "128" }, decode: { type: "string", default: "64" }, split: { type: "string", default: "adaptive" },
  profile: { type: "string" },
} });
const P = Number(values.prompt), D = Number(values.decode);
const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % 30000);
const now = () => performance.now();

if (values.engine === "dbllm") {
  const model = await loadModel(values.model!, { contextLength: P + D + 8, kernel: values.kernel as "auto", threads: Number(values.threads), threadSplitting: values.split as "adaptive" });
  const session = model.createSession() as Session; // in Node the in-thread session, with the decode steps generate() uses
  const rng = new Rng(1);
  const warm = await session.evaluate(prompt.slice(0, 8)); void warm; session.reset(); // compile kernels first
  const profiler = values.profile ? await startProfiler() : undefined;
  let t = now();
  // as generate() does (and llama.cpp here): logits of the last prompt token only, then one step per token
  const { logits } = await session.prefill(prompt);
  const prefill = (P * 1000) / (now() - t);
  await profiler?.save("prefill");
  let tok = sample(logits, DEFAULT_SAMPLING, rng);
  t = now();
  for (let i = 0; i < D; i++) tok = sample(session.step(tok), DEFAULT_SAMPLING, rng);
  const decode = (D * 1000) / (now() - t);
  await profiler?.save("decode");
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

/** V8's sampling profiler on this thread; save() writes what it saw since the last save and starts again. */
async function startProfiler() {
  const inspector = new Inspector();
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.setSamplingInterval", { interval: 100 });
  await inspector.post("Profiler.start");
  return {
    async save(part: string) {
      const { profile } = await inspector.post("Profiler.stop");
      writeFileSync(`${values.profile}.${part}.cpuprofile`, JSON.stringify(profile));
      await inspector.post("Profiler.start");
    },
  };
}
