// Where a token's time goes: V8's sampling profiler over the prefill and over the decode loop of one run per
// kernel build (bench/e2e-worker.ts --profile), self time per wasm kernel (named from the module's export
// section) and for the host (JavaScript, GC), in ms per token, with the rate of the two matrix kernels
// (block matrices: fdb_matmul_lutq; output head: q8_matmul) in GOPS = 2 × multiply-adds / their time.
// Usage: node --import tsx bench/profile.ts [--shapes tinyllama,smollm2] [--prompt 128] [--decode 64] [--name profile]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DIR, saveResult } from "./harness.ts";
import { randomDbllm } from "./lib/random-files.ts";
import { SMOLLM2, TINYLLAMA, type Shape } from "./lib/shapes.ts";
import { wasmFunctionNames } from "./lib/wasm-exports.ts";

const { values } = parseArgs({ options: {
  shapes: { type: "string", default: "tinyllama,smollm2" }, prompt: { type: "string", default: "128" },
  decode: { type: "string", default: "64" }, name: { type: "string", default: "profile" },
} });
const P = Number(values.prompt), D = Number(values.decode);
const SHAPES: Record<string, [Shape, number]> = { tinyllama: [TINYLLAMA, 128], smollm2: [SMOLLM2, 64] };
const ROOT = path.resolve(BENCH_DIR, "..");

interface CpuProfile { nodes: { id: number; children?: number[]; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] }

/** Self time (ms) per function: wasm exports by name, other JavaScript by file, V8's own entries as they are. */
function selfTimes(profile: CpuProfile, names: Map<number, string>): Map<string, number> {
  const label = new Map<number, string>(), parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const name = (id: number): string => {
    const { functionName: f, url } = byId.get(id)!.callFrame;
    const wasm = /^wasm-function\[(\d+)\]$/.exec(f);
    if (!wasm) return f.startsWith("(") ? f : `js ${path.basename(url) || "(native)"}`;
    const exported = names.get(Number(wasm[1]));
    if (exported) return `wasm ${exported}`;
    // a function the module does not export (e.g. the relaxed q8 kernel behind q8_matmul): its caller's name
    const up = parent.get(id);
    return up !== undefined && name(up).startsWith("wasm ") ? name(up) : `wasm (function ${wasm[1]})`;
  };
  for (const n of profile.nodes) label.set(n.id, name(n.id));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => { const k = label.get(id)!; out.set(k, (out.get(k) ?? 0) + profile.timeDeltas[i] / 1000); });
  return out;
}

/** Multiply-adds per token of the block matrices and of the output head. */
function macs(s: Shape) {
  const kvDim = s.nKvHeads * (s.dim / s.nHeads);
  return { blocks: s.nLayers * (s.dim * (s.dim + 2 * kvDim) + s.dim * s.dim + 3 * s.dim * s.ffnDim), head: s.vocabSize * s.dim };
}

const report: Record<string, unknown> = {};
const work = mkdtempSync(path.join(tmpdir(), "dbllm-profile-"));
try {
  for (const key of values.shapes!.split(",")) {
    const [shape, g] = SHAPES[key];
    const model = randomDbllm(shape, g);
    const { blocks, head } = macs(shape);
    for (const relaxed of [false, true]) {
      const prefix = path.join(work, `${key}-${relaxed ? "relaxed" : "simd"}`);
      const args = [...(relaxed ? ["--experimental-wasm-relaxed-simd"] : []), "--import", "tsx", path.join(BENCH_DIR, "e2e-worker.ts"),
        "--engine", "dbllm", "--model", model, "--prompt", String(P), "--decode", String(D), "--threads", "1", "--profile", prefix];
      const out = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop()!);
      const build: string = out.kernels.build;
      const names = wasmFunctionNames(path.join(ROOT, "build", `dbllm.${build}.wasm`));
      const phases: Record<string, unknown> = {};
      for (const [phase, tokens, rate] of [["prefill", P, out.prefill], ["decode", D, out.decode]] as const) {
        const t = selfTimes(JSON.parse(readFileSync(`${prefix}.${phase}.cpuprofile`, "utf8")), names);
        t.delete("(idle)");
        const total = [...t.values()].reduce((a, b) => a + b, 0);
        const rows = [...t].sort((a, b) => b[1] - a[1]).map(([fn, ms]) => ({ fn, msPerToken: ms / tokens, share: ms / total }));
        const gops = (fn: string, n: number) => { const ms = t.get(`wasm ${fn}`); return ms ? (2 * n * tokens) / (ms * 1e6) : undefined; };
        // the head runs for the last prompt token only in prefill: its rate is a decode figure
        phases[phase] = { tokensPerSecond: rate, msPerToken: total / tokens, gops: { blocks: gops("fdb_matmul_lutq", blocks), head: phase === "decode" ? gops("q8_matmul", head) : undefined }, rows };
        console.log(`\n${shape.name}, ${build} build, ${phase} (${tokens} tokens, ${rate.toFixed(1)} tok/s measured; profiled ${(total / tokens).toFixed(2)} ms/token):`);
        console.log("| function | ms/token | share |");
        console.log("|---|---:|---:|");
        for (const r of rows.filter((r) => r.share >= 0.005)) console.log(`| ${r.fn} | ${r.msPerToken.toFixed(3)} | ${(100 * r.share).toFixed(1)} % |`);
        const p = phases[phase] as { gops: { blocks?: number; head?: number } };
        console.log(`block matrices ${p.gops.blocks?.toFixed(1) ?? "–"} GOPS, output head ${p.gops.head?.toFixed(1) ?? "–"} GOPS`);
      }
      report[`${shape.name} ${build}`] = { shape, group: g, macsPerToken: { blocks, head }, ...phases };
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const file = saveResult(values.name!, { benchmark: "profile", settings: { prompt: P, decode: D, threads: 1 }, ...report });
console.log(`\nsaved ${file}`);
