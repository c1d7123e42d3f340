// Threads on an idle machine and with a core taken (issue 11): decode and prefill tok/s of one thread, two
// threads with adaptive splitting (the default) and two threads that split every job, first with nothing else
// running, then with a busy process pinned to core 1 (`taskset`; unpinned where taskset is missing). Each
// measurement runs in a fresh process; configurations are interleaved within each repetition; medians and the
// ratios to one thread of the same condition are reported.
// Usage: node --import tsx bench/threads.ts [--shapes tinyllama,smollm2] [--reps 3] [--prompt 64] [--decode 48]
//        (results: bench/results/threads.json; npm run bench -- threads)
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DIR, median, saveResult } from "./harness.ts";
import { randomDbllm } from "./lib/random-files.ts";
import { SMOLLM2, TINYLLAMA, type Shape } from "./lib/shapes.ts";

const { values } = parseArgs({ options: {
  shapes: { type: "string", default: "tinyllama,smollm2" }, reps: { type: "string", default: "3" },
  prompt: { type: "string", default: "64" }, decode: { type: "string", default: "48" },
} });
const SHAPES: Record<string, [Shape, number]> = { tinyllama: [TINYLLAMA, 128], smollm2: [SMOLLM2, 64] };
const CONFIGS = [
  { label: "1 thread", threads: 1, split: "adaptive" },
  { label: "2 threads, adaptive", threads: 2, split: "adaptive" },
  { label: "2 threads, always split", threads: 2, split: "always" },
];
const pinned = spawnSync("taskset", ["--version"]).status === 0;

function measure(model: string, threads: number, split: string): { prefill: number; decode: number; jobs: { split: number; alone: number } } {
  const out = execFileSync(process.execPath, ["--import", "tsx", path.join(BENCH_DIR, "e2e-worker.ts"), "--engine", "dbllm", "--model", model,
    "--prompt", values.prompt!, "--decode", values.decode!, "--threads", String(threads), "--split", split], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const r = JSON.parse(out.trim().split("\n").pop()!);
  return { prefill: r.prefill, decode: r.decode, jobs: r.threads.jobs };
}

function busyProcess(): ChildProcess {
  const args = ["-e", "for (;;) {}"];
  return pinned ? spawn("taskset", ["-c", "1", process.execPath, ...args], { stdio: "ignore" }) : spawn(process.execPath, args, { stdio: "ignore" });
}

const report: Record<string, unknown> = { busy: pinned ? "a busy node process pinned to core 1 (taskset -c 1)" : "a busy node process (no taskset: unpinned)" };
for (const key of values.shapes!.split(",")) {
  const [shape, g] = SHAPES[key];
  const model = randomDbllm(shape, g);
  const result: Record<string, unknown> = {};
  for (const condition of ["idle", "one core busy"]) {
    const runs = new Map<string, ReturnType<typeof measure>[]>(CONFIGS.map((c) => [c.label, []]));
    const busy = condition === "idle" ? undefined : busyProcess();
    try {
      if (busy) execFileSync("sleep", ["0.5"]);
      for (let r = 0; r < Number(values.reps); r++) {
        for (const c of CONFIGS) {
          const m = measure(model, c.threads, c.split);
          runs.get(c.label)!.push(m);
          process.stderr.write(`${shape.name} ${condition} rep ${r + 1} ${c.label.padEnd(24)} prefill ${m.prefill.toFixed(1).padStart(6)}  decode ${m.decode.toFixed(1).padStart(6)} tok/s  jobs split ${m.jobs.split} alone ${m.jobs.alone}\n`);
        }
      }
    } finally {
      busy?.kill("SIGKILL");
    }
    const one = runs.get(CONFIGS[0].label)!;
    const base = { prefill: median(one.map((x) => x.prefill)), decode: median(one.map((x) => x.decode)) };
    result[condition] = Object.fromEntries([...runs].map(([label, v]) => {
      const prefill = median(v.map((x) => x.prefill)), decode = median(v.map((x) => x.decode));
      return [label, { prefill, decode, prefillVsOne: prefill / base.prefill, decodeVsOne: decode / base.decode, runs: v }];
    }));
    for (const [label, r] of Object.entries(result[condition] as Record<string, { decode: number; decodeVsOne: number; prefillVsOne: number }>)) {
      process.stderr.write(`${shape.name} ${condition}: ${label.padEnd(24)} decode ${r.decode.toFixed(1)} tok/s = ${r.decodeVsOne.toFixed(2)}× one thread, prefill ${r.prefillVsOne.toFixed(2)}×\n`);
    }
  }
  report[shape.name] = result;
}
saveResult("threads", report);
