// Where a decoded token's time goes in headless Chromium, and what a second thread does to each part (issue 11's
// question behind bench/browser.ts: why does the embedded model barely gain from two threads in a browser?).
// The embedded SmolLM2-135M-Instruct with 1 thread, 2 threads (adaptive splitting, the default) and 2 threads
// splitting every job, interleaved, each measurement in a fresh page, through an instrumented build of the
// browser bundle (bench/lib/job-timing.ts: a timer around every pool job). Per token: time in pool jobs (matrix
// products, attention) by kind of job and by how it ran (one thread; split; alone), and the time outside them
// (norms, activation quantization and lookup tables, sampling, detokenizing, JavaScript glue).
// Usage: node --import tsx bench/browser-jobs.ts [--reps 3] [--decode 128]
//        (npm run bench -- browser-jobs; results: bench/results/browser-jobs.json)
import path from "node:path";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { BENCH_DIR, WORK, median, saveResult } from "./harness.ts";
import { load, startBenchBrowser } from "./lib/chromium.ts";
import type { JobTime } from "./lib/job-timing.ts";

const { values } = parseArgs({ options: { reps: { type: "string", default: "3" }, decode: { type: "string", default: "128" } } });
const REPS = Number(values.reps), DECODE = Number(values.decode);
const ROOT = path.resolve(BENCH_DIR, "..");
const MODEL = path.join(ROOT, "models/smollm2-135m-instruct-fdb.dbllm");
const OUT = path.join(WORK, "browser-jobs");
// the prompt of bench/browser.ts
const PROMPT = "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg, a goldsmith from Mainz, combined several existing technologies into a single system for producing books. Before his invention, books in Europe were copied by hand, usually by monks working in monasteries, and";

const CONFIGS = [
  { label: "1 thread", threads: 1, split: "adaptive" },
  { label: "2 threads, adaptive", threads: 2, split: "adaptive" },
  { label: "2 threads, always split", threads: 2, split: "always" },
] as const;

// the instrumented bundle, built like dist/browser/ (scripts/build.mjs), the pool worker next to it
await esbuild.build({
  bundle: true, format: "esm", target: "es2022", logLevel: "warning", platform: "browser", outdir: OUT,
  entryPoints: { index: path.join(BENCH_DIR, "lib/job-timing.ts"), "pool-worker": path.join(ROOT, "src/engine/pool-worker.ts") },
});

interface Measured { msPerToken: number; jobs: JobTime[]; tokens: number; threads: number; build: string; splitJobs: number; aloneJobs: number }

const browser = await startBenchBrowser({ "/models/smollm2.dbllm": MODEL, "/jobs/index.js": path.join(OUT, "index.js"), "/jobs/pool-worker.js": path.join(OUT, "pool-worker.js") });
const runs = new Map<string, Measured[]>(CONFIGS.map((c) => [c.label, []]));
const loadBefore = load();
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (let k = 0; k < CONFIGS.length; k++) {
      const c = CONFIGS[(k + rep) % CONFIGS.length];
      const page = await browser.open();
      try {
        const m = await page.evaluate(async ({ c, prompt, decode, bundle }) => {
          const dbllm = (await import(bundle)) as typeof import("./lib/job-timing.ts");
          const model = await dbllm.loadModel("/models/smollm2.dbllm", { threads: c.threads, threadSplitting: c.split, cache: false });
          await model.createSession().generate("Water boils at one hundred degrees", { temperature: 0, maxTokens: 8 }).done();
          // the decode steps only: from the first token to the last
          let first = 0, last = 0, n = 0;
          for await (const chunk of model.createSession().generate(prompt, { temperature: 0, maxTokens: decode })) {
            if (chunk.token < 0) continue;
            last = performance.now();
            if (n++ === 0) { first = last; dbllm.jobTimer.start(); }
          }
          const jobs = dbllm.jobTimer.stop();
          const info = model.info();
          model.dispose();
          return { msPerToken: (last - first) / (n - 1), jobs, tokens: n, threads: info.threads.count, build: info.kernels.build, splitJobs: info.threads.jobs.split, aloneJobs: info.threads.jobs.alone };
        }, { c, prompt: PROMPT, decode: DECODE, bundle: "/jobs/index.js" });
        runs.get(c.label)!.push(m);
        const inJobs = m.jobs.reduce((a, j) => a + j.ms, 0) / (m.tokens - 1);
        process.stderr.write(`rep ${rep + 1} ${c.label.padEnd(24)} ${m.msPerToken.toFixed(2)} ms/token (${(1000 / m.msPerToken).toFixed(1)} tok/s): pool jobs ${inJobs.toFixed(2)}, outside ${(m.msPerToken - inJobs).toFixed(2)} ms; threads ${m.threads}, ${m.build}\n`);
      } finally {
        await page.close();
      }
    }
  }
} finally {
  await browser.close();
}

// medians over the repetitions, per configuration and per (way of running, kind of job)
const steps = (m: Measured) => m.tokens - 1;
const report = CONFIGS.map((c) => {
  const v = runs.get(c.label)!;
  const keys = [...new Set(v.flatMap((m) => m.jobs.map((j) => `${j.mode}|${j.kind}`)))].sort();
  const kinds = keys.map((key) => {
    const per = v.map((m) => m.jobs.find((j) => `${j.mode}|${j.kind}` === key) ?? { mode: "", kind: "", jobs: 0, ms: 0 });
    const [mode, kind] = key.split("|");
    return {
      mode, kind,
      jobsPerToken: median(per.map((j, i) => j.jobs / steps(v[i]))),
      usPerJob: median(per.filter((j) => j.jobs > 0).map((j) => (1000 * j.ms) / j.jobs)),
      usPerToken: median(per.map((j, i) => (1000 * j.ms) / steps(v[i]))),
    };
  });
  const inJobs = v.map((m) => m.jobs.reduce((a, j) => a + j.ms, 0) / steps(m));
  return {
    label: c.label, threads: c.threads, split: c.split, build: v[0].build,
    msPerToken: median(v.map((m) => m.msPerToken)), decode: median(v.map((m) => 1000 / m.msPerToken)),
    poolJobsMsPerToken: median(inJobs), outsideMsPerToken: median(v.map((m, i) => m.msPerToken - inJobs[i])),
    kinds, runs: v.map((m) => ({ msPerToken: m.msPerToken, tokens: m.tokens, splitJobs: m.splitJobs, aloneJobs: m.aloneJobs, jobs: m.jobs })),
  };
});
const file = saveResult("browser-jobs", { chromium: browser.version, page: browser.page, load: { before: loadBefore, after: load() }, prompt: PROMPT, decodeTokens: DECODE, reps: REPS, configs: report });

// one table: kinds of job as rows, configurations as columns (µs per token; µs per job in brackets)
const one = report[0];
const rowKinds = [...new Set(report.flatMap((r) => r.kinds.map((k) => k.kind)))].sort((a, b) => {
  const ua = one.kinds.find((k) => k.kind === a)?.usPerToken ?? 0, ub = one.kinds.find((k) => k.kind === b)?.usPerToken ?? 0;
  return ub - ua;
});
/** "fdb_matmul_lutq:1536x576:1+fdb_matmul_lutq:1536x576:1" → "fdb 1536x576+1536x576" (one token per job). */
const short = (kind: string) => kind.replace(/fdb_matmul_lutq:/g, "").replace(/q8_matmul:/g, "q8 ").replace(/:1(?=\+|$)/g, "").replace(/^(\d)/, "fdb $1");
const cell = (r: (typeof report)[number], kind: string) => r.kinds.filter((k) => k.kind === kind)
  .map((k) => `${k.mode === "single" ? "" : `${k.mode} `}${k.usPerToken.toFixed(0)} (${k.jobsPerToken.toFixed(1)} × ${k.usPerJob.toFixed(1)})`).join("; ");
console.log(`\nSmolLM2-135M-Instruct decode in headless Chromium ${browser.version}, ${REPS} reps, medians; µs per token (jobs per token × µs per job)\n`);
console.log(`| job | ${report.map((r) => r.label).join(" | ")} |`);
console.log(`|---|${report.map(() => "---:").join("|")}|`);
for (const kind of rowKinds) console.log(`| ${short(kind)} | ${report.map((r) => cell(r, kind)).join(" | ")} |`);
console.log(`| all pool jobs | ${report.map((r) => (1000 * r.poolJobsMsPerToken).toFixed(0)).join(" | ")} |`);
console.log(`| outside pool jobs | ${report.map((r) => (1000 * r.outsideMsPerToken).toFixed(0)).join(" | ")} |`);
console.log(`| **token** (tok/s) | ${report.map((r) => `**${(1000 * r.msPerToken).toFixed(0)}** (${r.decode.toFixed(1)})`).join(" | ")} |`);
console.error(`\nresults: ${path.relative(ROOT, file)}`);
