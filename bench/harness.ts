// Shared benchmark plumbing: interleaved repetitions, medians, JSON results in bench/results/.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const WORK = path.join(BENCH_DIR, ".work");

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    execArgv: process.execArgv,
    date: new Date().toISOString(),
  };
}

export function saveResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(path.join(BENCH_DIR, "results"), { recursive: true });
  const file = path.join(BENCH_DIR, "results", `${name}.json`);
  writeFileSync(file, JSON.stringify({ machine: machine(), ...result }, null, 2) + "\n");
  return file;
}

export const now = () => performance.now();
