// End-to-end speed report (issues 3 and 4): decode and prefill tok/s, Node 20, with and without
// --experimental-wasm-relaxed-simd, for dbllm's fdb2 kernels (lookup table fast/exact, popcount) and f32 path,
// at one thread and (--threads 2) at two, beside llama.cpp (node-llama-cpp, one thread) on Q2_K, TQ2_0 (ternary,
// its fastest ~2-bit type) and Q4_0 GGUFs made by llama.cpp's own quantizer from the same random F16 weights. Each measurement runs in a fresh process;
// configurations are interleaved within each repetition, and medians are reported with ratios to llama.cpp
// Q2_K from the same run.
// Usage: node --import tsx bench/e2e.ts [--shapes tinyllama,smollm2] [--kernels lut,lut-exact,popcount]
//        [--threads 1,2] [--reps 3] [--prompt 128] [--decode 64] [--llama Q2_K,TQ2_0,Q4_0] [--heads q8,q4] [--name e2e]
//        (--heads: embeddings and output head as Q8_0, the default, and/or Q4_0)
//        (results: bench/results/<name>.json)
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DIR, median, saveResult, WORK } from "./harness.ts";
import { FTYPE, llamaQuantize } from "./lib/llama-quantize.ts";
import { randomDbllm, randomF16Gguf } from "./lib/random-files.ts";
import { SMOLLM2, TINYLLAMA, type Shape } from "./lib/shapes.ts";

const { values } = parseArgs({ options: {
  shapes: { type: "string", default: "tinyllama,smollm2" }, reps: { type: "string", default: "3" },
  prompt: { type: "string", default: "128" }, decode: { type: "string", default: "64" },
  kernels: { type: "string", default: "lut,lut-exact,popcount" }, threads: { type: "string", default: "1" },
  llama: { type: "string", default: "Q2_K,TQ2_0,Q4_0" }, heads: { type: "string", default: "q8" }, name: { type: "string", default: "e2e" },
} });
const LLAMA_TYPES = values.llama!.split(",").filter(Boolean) as (keyof typeof FTYPE)[];
for (const t of LLAMA_TYPES) if (!(t in FTYPE)) throw new Error(`--llama: unknown llama.cpp type ${t} (one of ${Object.keys(FTYPE).join(", ")})`);
if (!LLAMA_TYPES.includes("Q2_K")) LLAMA_TYPES.unshift("Q2_K"); // the ratios' baseline
const REPS = Number(values.reps);
const SHAPES: Record<string, [Shape, number]> = { tinyllama: [TINYLLAMA, 128], smollm2: [SMOLLM2, 64] };

interface Config { label: string; engine: "dbllm" | "llama"; model: string; kernel?: string; relaxed?: boolean; threads?: number }

function run(c: Config): { prefill: number; decode: number } {
  const args = [...(c.relaxed ? ["--experimental-wasm-relaxed-simd"] : []), "--import", "tsx", path.join(BENCH_DIR, "e2e-worker.ts"),
    "--engine", c.engine, "--model", c.model, "--prompt", values.prompt!, "--decode", values.decode!, ...(c.kernel ? ["--kernel", c.kernel] : []),
    "--threads", String(c.threads ?? 1)];
  const out = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop()!);
}

const report: Record<string, unknown> = {};
for (const key of values.shapes!.split(",")) {
  const [shape, g] = SHAPES[key];
  const f16 = randomF16Gguf(shape);
  const llamaFiles = LLAMA_TYPES.map((t) => {
    const file = path.join(WORK, `${shape.name}-${t}.gguf`);
    if (!existsSync(file)) llamaQuantize(f16, file, t);
    return [t, file] as const;
  });
  const configs: Config[] = [];
  for (const head of values.heads!.split(",")) {
    if (head !== "q8" && head !== "q4") throw new Error(`--heads: q8 or q4, got ${head}`);
    const fdb = randomDbllm(shape, g, head === "q8" ? "Q8_0" : "Q4_0");
    for (const threads of values.threads!.split(",").map(Number)) for (const kernel of values.kernels!.split(",")) for (const relaxed of [false, true]) {
      configs.push({ label: `dbllm fdb2-g${g}${head === "q8" ? "" : " q4 head"} ${kernel} ${relaxed ? "relaxed" : "simd"}${threads > 1 ? ` ×${threads} threads` : ""}`, engine: "dbllm", model: fdb, kernel, relaxed, threads });
    }
  }
  if (shape === SMOLLM2) for (const relaxed of [false, true]) configs.push({ label: `dbllm f32 ${relaxed ? "relaxed" : "simd"}`, engine: "dbllm", model: f16, relaxed });
  for (const [t, file] of llamaFiles) configs.push({ label: `llama.cpp ${t}`, engine: "llama", model: file });
  const runs = new Map<string, { prefill: number; decode: number }[]>(configs.map((c) => [c.label, []]));
  for (let r = 0; r < REPS; r++) {
    for (const c of configs) {
      const m = run(c);
      runs.get(c.label)!.push(m);
      process.stderr.write(`${shape.name} rep ${r + 1}/${REPS} ${c.label.padEnd(34)} prefill ${m.prefill.toFixed(1).padStart(7)}  decode ${m.decode.toFixed(1).padStart(6)} tok/s\n`);
    }
  }
  const med = Object.fromEntries([...runs].map(([k, v]) => [k, { prefill: median(v.map((x) => x.prefill)), decode: median(v.map((x) => x.decode)), runs: v }]));
  const base = med["llama.cpp Q2_K"];
  report[shape.name] = { shape, group: g, medians: med, ratioToQ2K: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, { prefill: v.prefill / base.prefill, decode: v.decode / base.decode }])) };
  console.log(`\n${shape.name} (llama.cpp one thread; dbllm threads as labelled; median of ${REPS}; prompt ${values.prompt}, decode ${values.decode}):`);
  console.log("| engine | prefill tok/s | decode tok/s | decode ÷ llama.cpp Q2_K |");
  console.log("|---|---:|---:|---:|");
  for (const [k, v] of Object.entries(med)) console.log(`| ${k} | ${v.prefill.toFixed(1)} | ${v.decode.toFixed(1)} | ${(v.decode / base.decode).toFixed(2)}× |`);
}
const file = saveResult(values.name!, { benchmark: "e2e", settings: { reps: REPS, prompt: Number(values.prompt), decode: Number(values.decode), threads: values.threads, kernels: values.kernels, heads: values.heads }, ...report });
console.log(`\nsaved ${file}`);
