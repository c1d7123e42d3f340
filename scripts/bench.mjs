// npm run bench [-- <names>]: the speed and accuracy reports of bench/, one after another, each in its own
// process (results land in bench/results/*.json; docs/BENCHMARKS.md explains them). Benchmarks are not tests:
// they print numbers and fail only when a run itself fails.
//   npm run bench                    f32, gemv, e2e (the speed reports; tens of minutes on 2 cores)
//   npm run bench -- accuracy        one report by name: f32 | gemv | e2e | accuracy | threads | distill-throughput |
//                                    distill-ablation | chat-probe | profile | head-q4 | browser | browser-jobs
//   npm run bench -- e2e --threads 1,2   options after a name go to that report
//   npm run bench -- plots               docs/plots/*.svg and *.md from the JSON in bench/results/, no measuring
//                                        (bench/plots.ts); every report above also redraws its own plots when it ends
// The distill-* reports are Python (the trainer's interpreter: scripts/python.ts); the rest run in Node.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REPORTS = {
  f32: "bench/e2e-f32.ts",
  gemv: "bench/gemv.ts",
  e2e: "bench/e2e.ts",
  accuracy: "bench/accuracy.ts",
  threads: "bench/threads.ts",
  profile: "bench/profile.ts",
  "head-q4": "bench/head-q4.ts",
  "chat-probe": "bench/chat-probe.ts",
  browser: "bench/browser.ts",
  "browser-jobs": "bench/browser-jobs.ts",
  "distill-throughput": "bench/distill/throughput.py",
  "distill-ablation": "bench/distill/ablation.py",
  plots: "bench/plots.ts",
};
const DEFAULT = ["f32", "gemv", "e2e"];

const argv = process.argv.slice(2);
const plan = [];
for (const a of argv) {
  if (a in REPORTS) plan.push({ name: a, args: [] });
  else if (plan.length) plan[plan.length - 1].args.push(a);
  else {
    console.error(`npm run bench: unknown report "${a}" (one of ${Object.keys(REPORTS).join(", ")})`);
    process.exit(2);
  }
}
if (!plan.length) for (const name of DEFAULT) plan.push({ name, args: [] });

for (const { name, args } of plan) {
  console.error(`\n[bench] ${name}: node --import tsx ${REPORTS[name]} ${args.join(" ")}`);
  const file = REPORTS[name];
  const r = file.endsWith(".py")
    ? spawnSync(trainPython(), [file, ...args], { cwd: ROOT, stdio: "inherit", env: trainEnv() })
    : spawnSync(process.execPath, ["--import", "tsx", file, ...args], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`[bench] ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  if (name !== "plots") plot(name);
}

/** Redraws the plots of the report that just ran ("no plot for X" when it has none); a plot problem does not fail the bench. */
function plot(name) {
  const r = spawnSync(process.execPath, ["--import", "tsx", REPORTS.plots, name], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) console.error(`[bench] plots for ${name} failed (exit ${r.status ?? r.signal}); its results are in bench/results/`);
}

/** The Python that has torch (scripts/python.ts finds it; $DBLLM_PYTHON overrides), and its module path. */
function trainPython() {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", "import('./scripts/python.ts').then(m => { const p = m.trainPython(); if (!p) { console.error(m.TORCH_INSTALL_HINT); process.exit(1); } console.log(p.python); })"],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) process.exit(1);
  return r.stdout.trim().split("\n").pop();
}

function trainEnv() {
  const parts = [path.join(ROOT, "python"), path.join(ROOT, ".cache", "pylib-train"), process.env.PYTHONPATH].filter(Boolean);
  return { ...process.env, PYTHONPATH: parts.join(path.delimiter) };
}
