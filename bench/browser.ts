// dbllm vs wllama (llama.cpp compiled to wasm, npm @wllama/wllama) in headless Chromium, one run: SmolLM2-135M-
// Instruct as dbllm's embedded 2-bit model (models/*.dbllm) and as GGUFs that llama.cpp's own quantizer makes from
// the teacher's Q4_1 file (Q2_K, Q4_0, Q8_0; cached in bench/.work/browser/), at 1 and 2 threads on a page served
// with COOP/COEP (cross-origin isolated, so both engines can start worker threads).
// Every measurement runs in a fresh page (a fresh module instance, worker pool and wasm memory): load the model,
// one short warm-up generation in a throw-away session, then the measured one: the same plain-text prompt, greedy,
// the same number of tokens (wllama with ignore_eos; dbllm has no such option, so the prompt is one it continues
// without an end-of-text token: the generated counts are reported). Both engines are timed the same way, in the
// page, from the tokens as they stream out: prefill = prompt tokens ÷ time to the first token, decode =
// (n − 1) ÷ (time from the first to the last token). Each engine's own figures are kept beside them.
// Configurations are interleaved repetition by repetition (the order rotates), medians over the repetitions.
// Usage: node --import tsx bench/browser.ts [--reps 5] [--decode 128] [--threads 1,2] [--quants Q2_K,Q4_0,Q8_0]
//        [--no-split-always] (npm run bench -- browser; results: bench/results/browser.json)
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import type { RawCompletionChunk } from "@wllama/wllama";
import { BENCH_DIR, WORK, median, saveResult } from "./harness.ts";
import { FTYPE, llamaQuantize } from "./lib/llama-quantize.ts";
import { load, startBenchBrowser } from "./lib/chromium.ts";
import { parseGGUF } from "../src/formats/gguf.ts";

const { values } = parseArgs({ options: {
  reps: { type: "string", default: "5" }, decode: { type: "string", default: "128" }, threads: { type: "string", default: "1,2" },
  quants: { type: "string", default: "Q2_K,Q4_0,Q8_0" }, "no-split-always": { type: "boolean", default: false },
} });
const REPS = Number(values.reps), DECODE = Number(values.decode);
const THREADS = values.threads!.split(",").map(Number);
const QUANTS = values.quants!.split(",") as (keyof typeof FTYPE)[];

const ROOT = path.resolve(BENCH_DIR, "..");
const BUNDLE = path.join(ROOT, "dist/browser/index.js");
const DBLLM_MODEL = path.join(ROOT, "models/smollm2-135m-instruct-fdb.dbllm");
const TEACHER = path.join(ROOT, ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
const DIR = path.join(WORK, "browser");
const require = createRequire(import.meta.url);
const WLLAMA_PKG = path.dirname(require.resolve("@wllama/wllama/package.json"));
const WLLAMA_VERSION = (require("@wllama/wllama/package.json") as { version: string }).version;

// A plain-text prompt (no chat template): the 2-bit model continues it past 128 tokens without an end-of-text token.
const PROMPT = "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg, a goldsmith from Mainz, combined several existing technologies into a single system for producing books. Before his invention, books in Europe were copied by hand, usually by monks working in monasteries, and";
const WARM_PROMPT = "Water boils at one hundred degrees";
const WARM_TOKENS = 8;

// ---- inputs ----
for (const [file, hint] of [[DBLLM_MODEL, "the embedded model is part of the repository"], [TEACHER, "the SmolLM2 teacher GGUF (see bench/accuracy.ts)"]] as const) {
  if (!existsSync(file)) { console.error(`bench/browser: ${file} is missing: ${hint}`); process.exit(1); }
}
/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));
}
// the bundle is what the page runs: (re)build it when it is missing or older than its sources
if (!existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < Math.max(newest(path.join(ROOT, "src")), newest(path.join(ROOT, "assembly")))) {
  console.error("bench/browser: building dist/ (node scripts/build.mjs)");
  if (spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, stdio: "inherit" }).status !== 0) process.exit(1);
}
mkdirSync(DIR, { recursive: true });
const ggufs: Record<string, string> = {};
for (const q of QUANTS) {
  const file = path.join(DIR, `smollm2-135m-instruct.${q}.gguf`);
  if (!existsSync(file)) { console.error(`bench/browser: llama.cpp quantizer: ${path.basename(TEACHER)} → ${q}`); llamaQuantize(TEACHER, file, q); }
  ggufs[q] = file;
}
/** Tensor types of a GGUF file, counted (a "Q2_K" file of this model is mostly Q4_0: rows of 576 are not a multiple of 256). */
function tensorTypes(file: string): Record<string, number> {
  const buf = new Uint8Array(8 << 20), fd = openSync(file, "r");
  try { readSync(fd, buf, 0, buf.length, 0); } finally { closeSync(fd); }
  const counts: Record<string, number> = {};
  for (const t of parseGGUF(buf, statSync(file).size, file).tensors) counts[t.type.name] = (counts[t.type.name] ?? 0) + 1;
  return counts;
}

// ---- configurations ----
interface Config { label: string; engine: "dbllm" | "wllama"; threads: number; quant?: string; split?: "adaptive" | "always"; diagnostic?: boolean }
const CONFIGS: Config[] = [];
for (const t of THREADS) {
  CONFIGS.push({ label: `dbllm fdb2, ${t} thread${t > 1 ? "s" : ""}`, engine: "dbllm", threads: t, split: "adaptive" });
  if (t > 1 && !values["no-split-always"]) CONFIGS.push({ label: `dbllm fdb2, ${t} threads, always split`, engine: "dbllm", threads: t, split: "always", diagnostic: true });
  for (const q of QUANTS) CONFIGS.push({ label: `wllama ${q}, ${t} thread${t > 1 ? "s" : ""}`, engine: "wllama", threads: t, quant: q });
}

/** What one measurement in a page returns. */
interface Run {
  promptTokens: number;
  generated: number;
  loadMs: number;
  ttftMs: number;
  prefill: number;
  decode: number;
  /** Prompt tokens the engine took from a cache instead of computing them (must be 0). */
  cached: number;
  /** The engine's own figures (dbllm: stats of the generation; wllama: llama.cpp's timings). */
  own: { prefill: number; decode: number };
  /** Milliseconds between consecutive tokens as the page saw them: median, 90th percentile, max. */
  gapMs: { p50: number; p90: number; max: number };
  /** Stream chunks the page received (wllama may deliver several tokens per chunk). */
  chunks: number;
  threads: unknown;
  build?: string;
  stop: string;
  text: string;
}

async function measure(page: Page, c: Config): Promise<Run> {
  // the modules' URLs are passed in as values: the page imports them, TypeScript types them from the sources
  const args = { c, prompt: PROMPT, warm: WARM_PROMPT, warmTokens: WARM_TOKENS, decode: DECODE, bundle: "/dist/browser/index.js", wllama: "/wllama/index.js" };
  if (c.engine === "dbllm") {
    return page.evaluate(async ({ c, prompt, warm, warmTokens, decode, bundle }) => {
      const { loadModel } = (await import(bundle)) as typeof import("../src/index.ts");
      const t0 = performance.now();
      const m = await loadModel("/models/smollm2.dbllm", { threads: c.threads, threadSplitting: c.split, cache: false });
      const loadMs = performance.now() - t0;
      await m.createSession().generate(warm, { temperature: 0, maxTokens: warmTokens }).done();
      const times: number[] = [];
      const start = performance.now();
      const stream = m.createSession().generate(prompt, { temperature: 0, maxTokens: decode });
      let chunks = 0;
      for await (const chunk of stream) { chunks++; if (chunk.token >= 0) times.push(performance.now()); }
      const r = await stream.done();
      const info = m.info();
      m.dispose();
      return { start, times, chunks, loadMs, promptTokens: r.stats.promptTokens, cached: r.stats.cachedPromptTokens, generated: r.stats.generatedTokens,
        own: { prefill: r.stats.prefillTokensPerSecond, decode: r.stats.decodeTokensPerSecond }, threads: info.threads, build: info.kernels.build,
        stop: r.stats.stopReason, text: r.text };
    }, args).then(finish);
  }
  return page.evaluate(async ({ c, prompt, warm, warmTokens, decode, wllama }) => {
    const { Wllama } = (await import(wllama)) as typeof import("@wllama/wllama");
    const quiet = { debug() {}, log() {}, warn: console.warn, error: console.error };
    const t0 = performance.now();
    const blob = await (await fetch(`/models/${c.quant}.gguf`)).blob();
    const w = new Wllama({ default: "/wllama/wllama.wasm" }, { suppressNativeLog: true, logger: quiet });
    await w.loadModel([blob], { n_threads: c.threads, n_gpu_layers: 0, n_ctx: 1024 });
    const loadMs = performance.now() - t0;
    // llama-server's own request fields that wllama passes through but does not type: no prompt cache, and
    // llama.cpp's timings with every streamed chunk (their predicted_n counts the tokens a chunk carries)
    const server = { cache_prompt: false, timings_per_token: true };
    await w.createCompletion({ prompt: warm, max_tokens: warmTokens, temperature: 0, ...server });
    const times: number[] = [];
    let chunks = 0, text = "";
    let last: RawCompletionChunk | undefined;
    const start = performance.now();
    await w.createCompletion({
      prompt, max_tokens: decode, temperature: 0, ignore_eos: true, ...server, stream: true,
      onData: (chunk) => {
        const t = performance.now();
        chunks++;
        const n = chunk.timings ? chunk.timings.predicted_n - times.length : 1;
        for (let i = 0; i < n; i++) times.push(t);
        text += chunk.choices[0]?.text ?? "";
        last = chunk;
      },
    });
    const threads = { count: w.getNumThreads(), multithread: w.isMultithread(), libllama: Wllama.getLibllamaVersion() };
    await w.exit();
    const tm = last?.timings;
    return { start, times, chunks, loadMs, promptTokens: tm?.prompt_n ?? -1, cached: tm?.cache_n ?? -1, generated: tm?.predicted_n ?? times.length,
      own: { prefill: tm?.prompt_per_second ?? NaN, decode: tm?.predicted_per_second ?? NaN }, threads, build: undefined,
      stop: last?.choices[0]?.finish_reason ?? "?", text };
  }, args).then(finish);
}

function finish(r: { start: number; times: number[]; chunks: number; loadMs: number; promptTokens: number; cached: number; generated: number; own: { prefill: number; decode: number }; threads: unknown; build?: string; stop: string; text: string }): Run {
  if (r.cached !== 0) throw new Error(`${r.cached} prompt tokens came from a cache: the prefill was not measured whole`);
  const n = r.times.length;
  const ttftMs = r.times[0] - r.start;
  const gaps = r.times.slice(1).map((t, i) => t - r.times[i]).sort((a, b) => a - b);
  const q = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))];
  return {
    promptTokens: r.promptTokens, cached: r.cached, generated: r.generated, loadMs: r.loadMs, ttftMs,
    prefill: (r.promptTokens * 1000) / ttftMs,
    decode: ((n - 1) * 1000) / (r.times[n - 1] - r.times[0]),
    own: r.own, gapMs: { p50: q(0.5), p90: q(0.9), max: gaps[gaps.length - 1] }, chunks: r.chunks,
    threads: r.threads, build: r.build, stop: r.stop, text: r.text,
  };
}

// ---- the run ----
const browser = await startBenchBrowser({
  "/models/smollm2.dbllm": DBLLM_MODEL,
  ...Object.fromEntries(QUANTS.map((q) => [`/models/${q}.gguf`, ggufs[q]])),
  "/wllama/index.js": path.join(WLLAMA_PKG, "esm/index.js"),
  "/wllama/wllama.wasm": path.join(WLLAMA_PKG, "esm/wasm/wllama.wasm"),
});
const runs = new Map<string, Run[]>(CONFIGS.map((c) => [c.label, []]));
const loadBefore = load();
try {
  console.error(`bench/browser: Chromium ${browser.version}, ${REPS} reps × ${CONFIGS.length} configurations, ${DECODE} tokens each; load average ${loadBefore.loadavg.join(" ")} on ${loadBefore.cores} cores`);
  for (let rep = 0; rep < REPS; rep++) {
    for (let k = 0; k < CONFIGS.length; k++) {
      const c = CONFIGS[(k + rep) % CONFIGS.length]; // rotate the order: no configuration always runs first or last
      const p = await browser.open();
      try {
        const r = await measure(p, c);
        runs.get(c.label)!.push(r);
        const th = r.threads as { count: number; jobs?: { split: number; alone: number } };
        process.stderr.write(`rep ${rep + 1} ${c.label.padEnd(36)} prompt ${r.promptTokens} gen ${r.generated} (${r.stop})  prefill ${r.prefill.toFixed(1).padStart(6)}  decode ${r.decode.toFixed(1).padStart(6)} tok/s  own ${r.own.decode.toFixed(1)}  gap p50 ${r.gapMs.p50.toFixed(2)} p90 ${r.gapMs.p90.toFixed(2)} max ${r.gapMs.max.toFixed(1)} ms  threads ${th.count}${th.jobs ? ` jobs split ${th.jobs.split} alone ${th.jobs.alone}` : ""}  chunks ${r.chunks}\n`);
      } catch (e) {
        throw new Error(`${c.label}, rep ${rep + 1}: ${(e as Error).message}${browser.errors.length ? ` (page errors: ${browser.errors.join("; ")})` : ""}`);
      } finally {
        await p.close();
      }
    }
  }
} finally {
  await browser.close();
}
const loadAfter = load();
const environment = { chromium: browser.version, ...browser.page };

// ---- report ----
const mb = (f: string) => statSync(f).size / 1e6;
const rows = CONFIGS.map((c) => {
  const v = runs.get(c.label)!;
  const pick = (f: (r: Run) => number) => median(v.map(f));
  return { ...c, file: c.engine === "dbllm" ? path.relative(ROOT, DBLLM_MODEL) : path.relative(ROOT, ggufs[c.quant!]), fileMB: mb(c.engine === "dbllm" ? DBLLM_MODEL : ggufs[c.quant!]),
    prefill: pick((r) => r.prefill), decode: pick((r) => r.decode), ownPrefill: pick((r) => r.own.prefill), ownDecode: pick((r) => r.own.decode),
    ttftMs: pick((r) => r.ttftMs), loadMs: pick((r) => r.loadMs), generated: [...new Set(v.map((r) => r.generated))], promptTokens: [...new Set(v.map((r) => r.promptTokens))],
    gapP50Ms: pick((r) => r.gapMs.p50), gapP90Ms: pick((r) => r.gapMs.p90), runs: v.map(({ text, ...r }) => r) };
});
const ratios = THREADS.map((t) => {
  const at = rows.filter((r) => r.threads === t);
  const dbllm = at.find((r) => r.engine === "dbllm" && !r.diagnostic)!;
  const wl = at.filter((r) => r.engine === "wllama");
  const q2k = wl.find((r) => r.quant === "Q2_K");
  const fastest = wl.reduce((a, b) => (b.decode > a.decode ? b : a));
  return { threads: t, dbllmDecode: dbllm.decode, vsQ2K: q2k ? dbllm.decode / q2k.decode : undefined, fastestWllama: fastest.label, vsFastest: dbllm.decode / fastest.decode,
    prefillVsQ2K: q2k ? dbllm.prefill / q2k.prefill : undefined };
});
const scaling = Object.fromEntries(CONFIGS.filter((c) => c.threads === 1).map((c) => {
  const one = rows.find((r) => r.label === c.label)!;
  const two = rows.find((r) => r.engine === c.engine && r.quant === c.quant && r.threads === 2 && !r.diagnostic);
  return [c.engine === "dbllm" ? "dbllm" : `wllama ${c.quant}`, two ? { decode: two.decode / one.decode, prefill: two.prefill / one.prefill } : undefined];
}));
const texts = Object.fromEntries(CONFIGS.map((c) => [c.label, runs.get(c.label)![0].text.slice(0, 160)]));
const file = saveResult("browser", {
  chromium: environment.chromium, page: environment, load: { before: loadBefore, after: loadAfter }, wllama: { package: `@wllama/wllama@${WLLAMA_VERSION}`, libllama: (runs.get(CONFIGS.find((c) => c.engine === "wllama")!.label)![0].threads as { libllama: string }).libllama },
  dbllm: { bundle: "dist/browser/index.js", model: path.relative(ROOT, DBLLM_MODEL) },
  ggufTensorTypes: Object.fromEntries(QUANTS.map((q) => [q, tensorTypes(ggufs[q])])),
  prompt: PROMPT, warmup: { prompt: WARM_PROMPT, tokens: WARM_TOKENS }, decodeTokens: DECODE, reps: REPS,
  method: "fresh page per measurement; load, 8-token warm-up in another session, then the measured greedy generation. prefill = prompt tokens / (first token time - request time); decode = (n-1) / (last token time - first token time), timed in the page from the streamed tokens. own = dbllm stats (decode = n / time after prefill) and llama.cpp timings (predicted_per_second).",
  ratios, scaling, configs: rows, textHeads: texts,
});

const f1 = (x: number) => x.toFixed(1);
console.log(`\nSmolLM2-135M-Instruct in headless Chromium ${environment.chromium} (cross-origin isolated), @wllama/wllama ${WLLAMA_VERSION}; ${REPS} reps, medians; ${DECODE} tokens\n`);
console.log("| threads | engine, weights | file MB | prompt tok | generated | prefill tok/s | decode tok/s | dbllm ÷ this (decode) | engine's own decode tok/s |");
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const ref = rows.find((x) => x.threads === r.threads && x.engine === "dbllm" && !x.diagnostic)!;
  const vs = r.engine === "wllama" ? `${(ref.decode / r.decode).toFixed(1)}×` : "";
  console.log(`| ${r.threads} | ${r.label.replace(/, \d threads?/, "")}${r.diagnostic ? " (diagnostic)" : ""} | ${f1(r.fileMB)} | ${r.promptTokens.join("/")} | ${r.generated.join("/")} | ${f1(r.prefill)} | ${f1(r.decode)} | ${vs} | ${f1(r.ownDecode)} |`);
}
console.log("");
for (const r of ratios) console.log(`${r.threads} thread(s): dbllm decode ${f1(r.dbllmDecode)} tok/s = ${r.vsQ2K?.toFixed(1)}× wllama Q2_K, ${r.vsFastest.toFixed(1)}× the fastest wllama (${r.fastestWllama}); prefill ${r.prefillVsQ2K?.toFixed(2)}× Q2_K`);
for (const [k, s] of Object.entries(scaling)) if (s) console.log(`2 threads ÷ 1 thread, ${k}: decode ${s.decode.toFixed(2)}×, prefill ${s.prefill.toFixed(2)}×`);
console.error(`\nresults: ${path.relative(ROOT, file)}`);
