// The fuzz corpus (tests/fuzz/): a few hundred mutants of small valid models, each loaded and run in a worker
// thread with a per-file time bound and a heap limit. Every mutant must end in one of two ways: it works, or it is
// refused with a typed DbllmError. The test prints the counts by class (and by error code and operator) and fails
// on any hang, out-of-memory, untyped error or silent NaN. More mutants: DBLLM_FUZZ_COUNT=3000 (and
// DBLLM_FUZZ_SEED to vary them); a failing mutant's files are kept under tests/.work/fuzz/ for a look.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { classify, type Outcome } from "./fuzz/classify.ts";
import { SEEDS_DIR } from "./fuzz/make-seeds.ts";
import { loadSeeds, makeMutants, OPERATOR_NAMES, type Mutant, type Seed } from "./fuzz/mutate.ts";
import { workDir } from "./helpers/workdir.ts";

const COUNT = Number(process.env.DBLLM_FUZZ_COUNT ?? 600);
const RUN_SEED = Number(process.env.DBLLM_FUZZ_SEED ?? 12);
/** A mutant that takes longer than this hangs (a tiny model loads and generates in well under a second). */
const TIME_LIMIT_MS = 10_000;
/** JavaScript heap of the worker, and the most wasm memory a loaded mutant may take. */
const HEAP_LIMIT_MB = 256;
const WASM_LIMIT_BYTES = 256 << 20;

const dir = workDir("fuzz");
const seeds = loadSeeds(SEEDS_DIR);

/** Where a mutant is loaded from: its bytes, or the directory its files were written to. */
function sourceOf(m: Seed | Mutant, where: string): string | Uint8Array {
  if (m.kind !== "hf") return m.files.model;
  mkdirSync(where, { recursive: true });
  for (const [name, bytes] of Object.entries(m.files)) writeFileSync(path.join(where, name), bytes);
  return where;
}

type Verdict = Outcome | { cls: "hang" | "oom" | "crash"; stage?: undefined; code?: undefined; message: string };

/** One worker at a time, replaced after a hang or a crash. */
class Runner {
  private worker: Worker | undefined;
  private spawn(): Worker {
    const url = new URL("./fuzz/classify.ts", import.meta.url);
    const entry = new URL(`data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(url.href)});`)}`);
    return new Worker(entry, { resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB, maxYoungGenerationSizeMb: 32 } });
  }
  run(source: string | Uint8Array): Promise<Verdict> {
    const w = (this.worker ??= this.spawn());
    return new Promise((resolve) => {
      const done = (v: Verdict, replace: boolean) => {
        clearTimeout(timer);
        w.off("message", onMessage); w.off("error", onError); w.off("exit", onExit);
        if (replace) { void w.terminate(); this.worker = undefined; }
        resolve(v);
      };
      const onMessage = (o: Outcome) => done(o, false);
      const onError = (e: Error & { code?: string }) => done(e.code === "ERR_WORKER_OUT_OF_MEMORY"
        ? { cls: "oom", message: e.message } : { cls: "crash", message: `${e.name}: ${e.message}` }, true);
      const onExit = (code: number) => done({ cls: "crash", message: `worker exited with ${code}` }, true);
      const timer = setTimeout(() => done({ cls: "hang", message: `still running after ${TIME_LIMIT_MS} ms` }, true), TIME_LIMIT_MS);
      w.on("message", onMessage); w.once("error", onError); w.once("exit", onExit);
      w.postMessage({ source });
    });
  }
  async close(): Promise<void> { await this.worker?.terminate(); }
}

test("every seed of the corpus loads, evaluates finite logits and generates", async () => {
  assert.ok(seeds.length >= 6, `${seeds.length} seeds`);
  for (const s of seeds) {
    const o = await classify(sourceOf(s, path.join(dir, `seed-${s.name}`)));
    console.log(`  ${s.name} (${s.kind}): ${o.cls}${o.message ? ` — ${o.message}` : ""}`);
    assert.is(o.cls, "ok", `seed ${s.name}: regenerate the seeds (tests/fuzz/make-seeds.ts) after a format change`);
  }
});

test(`${COUNT} mutants: 0 hangs, 0 out-of-memory, 0 untyped errors, 0 silent NaN`, async () => {
  const mutants = makeMutants(seeds, COUNT, RUN_SEED);
  const runner = new Runner();
  const counts = new Map<string, number>(), codes = new Map<string, number>(), ops = new Map<string, Map<string, number>>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const bad: string[] = [];
  let slowest = { ms: 0, id: "" }, maxWasm = 0;
  const t0 = performance.now();
  try {
    for (const m of mutants) {
      const where = path.join(dir, `mutant-${m.id}`);
      const t = performance.now();
      let v: Verdict = await runner.run(sourceOf(m, where));
      const ms = performance.now() - t;
      if (ms > slowest.ms) slowest = { ms, id: `${m.id} (${m.seed}, ${m.op})` };
      if (v.cls === "ok" && (v.wasmBytes ?? 0) > WASM_LIMIT_BYTES) v = { cls: "oom", message: `${v.wasmBytes} bytes of wasm memory` };
      if (v.cls === "ok") maxWasm = Math.max(maxWasm, v.wasmBytes ?? 0);
      const cls = v.cls === "typed" ? `typed (${v.stage})` : v.cls;
      bump(counts, cls);
      if (v.cls === "typed") bump(codes, `${v.code} (${v.stage})`);
      const opName = m.op.split(":")[0];
      bump(ops.get(opName) ?? ops.set(opName, new Map()).get(opName)!, v.cls === "typed" ? v.code! : v.cls);
      if (v.cls !== "ok" && v.cls !== "typed") {
        bad.push(`#${m.id} ${m.seed} [${m.op}] → ${v.cls}: ${v.message}`);
        if (m.kind !== "hf") { mkdirSync(where, { recursive: true }); writeFileSync(path.join(where, "model"), m.files.model); }
      }
    }
  } finally {
    await runner.close();
  }
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`  ${mutants.length} mutants of ${seeds.length} seeds in ${s} s (slowest ${slowest.ms.toFixed(0)} ms: #${slowest.id}; largest wasm memory ${(maxWasm / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`  by class: ${[...counts].sort().map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`  typed errors by code: ${[...codes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  for (const [op, m] of [...ops].sort()) console.log(`    ${op.padEnd(20)} ${[...m].sort().map(([k, n]) => `${k} ${n}`).join(", ")}`);
  for (const b of bad) console.log(`  BAD ${b}`);
  for (const cls of ["hang", "oom", "untyped", "silent-nan", "crash"]) assert.is(counts.get(cls) ?? 0, 0, `${cls}: ${bad.filter((b) => b.includes(`→ ${cls}`)).join("\n")}`);
  assert.equal([...ops.keys()].sort(), [...OPERATOR_NAMES].sort(), "every operator ran");
  assert.ok((codes.get("NON_FINITE (load)") ?? 0) > 0, "poisoned tensors are refused at load");
});

test.run();
