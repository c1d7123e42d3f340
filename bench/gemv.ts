// Kernel speed report (issue 3): GEMV GOPS (2·M·K / time, T = 1, one thread) on 2048×2048 and 2048×5632 for
// every kernel, hot (in cache) and cold (streamed from DRAM), in the baseline-SIMD and relaxed-SIMD builds
// (Node 20 needs --experimental-wasm-relaxed-simd), with the memory bandwidth each cold run uses against the
// ~27 GB/s one thread can stream (research/kernels.md).
// Usage: node --import tsx bench/gemv.ts
import { execFileSync } from "node:child_process";
import path from "node:path";
import { BENCH_DIR, saveResult } from "./harness.ts";

const BANDWIDTH = 27.6e9;
const runs: Record<string, unknown> = {};
for (const relaxed of [false, true]) {
  const outText = execFileSync(process.execPath, [...(relaxed ? ["--experimental-wasm-relaxed-simd"] : []), "--import", "tsx", path.join(BENCH_DIR, "gemv-worker.ts")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const r = JSON.parse(outText.trim().split("\n").pop()!);
  runs[r.build] = r.results;
}
console.log("| kernel | build | 2048×2048 hot | 2048×2048 cold | 2048×5632 hot | 2048×5632 cold | cold GB/s (share of 27.6) |");
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const [build, results] of Object.entries(runs) as [string, Record<string, Record<string, { hot: number; cold: number; bytes: number }>>][]) {
  for (const name of Object.keys(results["2048x2048"])) {
    const a = results["2048x2048"][name], b = results["2048x5632"][name];
    const gbs = (b.bytes * (b.cold * 1e9 / (2 * 2048 * 5632))) / 1e9;
    console.log(`| ${name} | ${build} | ${a.hot.toFixed(1)} | ${a.cold.toFixed(1)} | ${b.hot.toFixed(1)} | ${b.cold.toFixed(1)} | ${gbs.toFixed(1)} (${(100 * gbs * 1e9 / BANDWIDTH).toFixed(0)}%) |`);
  }
}
console.log(`saved ${saveResult("gemv", { benchmark: "gemv", unit: "GOPS = 2·M·K/s", runs })}`);
