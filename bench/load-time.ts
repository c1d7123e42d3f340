// Load time of a model file: each run is a fresh process that times loadModel alone (one thread, no process
// start-up), in wall-clock and in CPU time (less disturbed by other processes on a busy machine), and the medians
// of the runs are reported. With --against <checkout>, runs alternate between this checkout and another one
// (same file, same machine, same minute), so a change to the loader can be priced:
//   node --import tsx bench/load-time.ts models/smollm2-135m-instruct-fdb.dbllm --runs 9 --against /tmp/base
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string" }, against: { type: "string" } } });
const model = path.resolve(positionals[0] ?? "models/smollm2-135m-instruct-fdb.dbllm");
const runs = Number(values.runs ?? 7);
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const roots = values.against ? [here, path.resolve(values.against)] : [here];

/** One fresh process: wall and CPU milliseconds of loadModel from `root`'s sources. */
function loadOnce(root: string): { wall: number; cpu: number } {
  const script = `import { loadModel } from ${JSON.stringify(path.join(root, "src/index.ts"))};
const t0 = performance.now(), c0 = process.cpuUsage();
const m = await loadModel(${JSON.stringify(model)}, { threads: 1 });
const c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 }));
m.dispose();`;
  return JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" }));
}

const times = roots.map(() => [] as { wall: number; cpu: number }[]);
for (let i = 0; i < runs; i++) roots.forEach((root, k) => times[k].push(loadOnce(root)));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const med = (k: number, key: "wall" | "cpu") => median(times[k].map((t) => t[key]));
for (const [k, root] of roots.entries()) {
  console.log(`${root}: median ${med(k, "wall").toFixed(0)} ms wall, ${med(k, "cpu").toFixed(0)} ms CPU over ${runs} runs (wall ${times[k].map((t) => t.wall.toFixed(0)).join(", ")})`);
}
if (roots.length === 2) {
  console.log(`this checkout / the other: ${(med(0, "wall") / med(1, "wall")).toFixed(3)} wall, ${(med(0, "cpu") / med(1, "cpu")).toFixed(3)} CPU`);
}
