// The worker pool: a model split across threads computes exactly what one thread computes (row and head
// splits do not change any row's arithmetic), for every runtime format; info() reports the thread count.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError, loadModel } from "../src/index.ts";
import { Engine } from "../src/engine/engine.ts";
import { Pool } from "../src/engine/pool.ts";
import { openModel } from "../src/open/open-model.ts";
import { quantizeModel } from "../src/conversion/quantize.ts";
import { buildRandomModel } from "./helpers/random-model.ts";
import { assertClose } from "./helpers/numeric.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = workDir("threads");
// odd sizes so that row ranges end inside blocks: dim 96, ffn 200 (not multiples of 16), 6/2 heads
const built = buildRandomModel(dir, { arch: "qwen2", dim: 96, nLayers: 2, nHeads: 6, nKvHeads: 2, ffnDim: 224, tied: false, merges: 150, seed: 41, ggufType: "Q8_0" });
const dbllm = path.join(dir, "model.dbllm");
{
  const m = await openModel(built.gguf);
  const chunks: Uint8Array[] = [];
  for await (const c of quantizeModel(m, { method: "fdb", groupSize: 64, embed: "q8", head: "q8" })) chunks.push(c);
  writeFileSync(dbllm, Buffer.concat(chunks));
}

const prompt = Array.from({ length: 70 }, (_, i) => (i * 37) % 300);

for (const [label, file, kernel] of [["f32 + q8 (GGUF Q8_0)", built.gguf, "auto"], ["fdb2 lut", dbllm, "lut"], ["fdb2 lut-exact", dbllm, "lut-exact"], ["fdb2 popcount", dbllm, "popcount"]] as const) {
  test(`${label}: 2 and 3 threads give bit-identical logits to 1 thread`, async () => {
    const results: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      // "always": every job split, so the pool's protocol itself is what is compared (adaptive may run jobs alone)
      const model = await loadModel(file, { contextLength: 128, threads, kernel, batchSize: 32, threadSplitting: "always" });
      assert.is(model.info().threads.count, threads, model.info().threads.reason);
      const s = model.createSession();
      const all = await s.evaluate(prompt);
      const step = await s.evaluate([5]); // a decode step after a multi-chunk prefill
      results.push(Float32Array.from([...all, ...step]));
      model.dispose();
    }
    assertClose(`${label}: 2 threads vs 1`, results[1], results[0], 0, true);
    assertClose(`${label}: 3 threads vs 1`, results[2], results[0], 0, true);
  });
}

test("threads: 1 and invalid thread counts", async () => {
  const m = await loadModel(built.gguf, { threads: 1 });
  assert.equal(m.info().threads, { count: 1, reason: "threads: 1 requested", splitting: "none", jobs: { split: 0, alone: 0 } });
  await assert.not.ok(await loadModel(built.gguf, { threads: 0 }).then(() => true, (e) => e.code !== "INVALID_ARGUMENT"));
});

test("a kernel that fails in the thread pool is a WORKER_FAILED error, and the pool runs the next job", async () => {
  const engine = await Engine.create({ shared: true });
  const pool = await Pool.create(engine, 2, "test", false); // every job split: chunks go to the worker and to this thread
  const K = 4, M = 64;
  const x = engine.allocF32(K, "x"), w = engine.arena.alloc(engine.k.f32x8_bytes(M, K), "w"), out = engine.allocF32(M, "out");
  engine.f32(x, K).fill(1);
  engine.u8(w, engine.k.f32x8_bytes(M, K)).fill(0);
  const job = (o: number) => [{ fn: "matmul_f32" as const, args: [o, x, w, 1, K, M], count: M, align: 8 }];
  // every output row lies beyond the end of memory: whichever thread takes a chunk, its kernel traps
  try {
    pool.run(job(engine.memory.buffer.byteLength));
    assert.unreachable("an out-of-bounds store went unnoticed");
  } catch (e) {
    assert.instance(e, DbllmError);
    assert.is((e as DbllmError).code, "WORKER_FAILED", (e as Error).message);
  }
  engine.f32(out, M).fill(Number.NaN);
  pool.run(job(out));
  assert.ok(engine.f32(out, M).every((v) => v === 0), "the next job ran on every row (zero weights)");
  pool.dispose();
});

test("a core taken by another process: the pool keeps making progress and the tokens stay the same", async () => {
  // a busy process on the second core (pinned there where taskset exists): the situation where a split job
  // waits for a descheduled worker
  const pin = spawnSync("taskset", ["--version"]).status === 0;
  const busy = spawn(pin ? "taskset" : process.execPath, [...(pin ? ["-c", "1", process.execPath] : []), "-e", "for (;;) {}"], { stdio: "ignore" });
  try {
    const tokens: number[][] = [];
    const jobs: { split: number; alone: number }[] = [];
    for (const [threads, threadSplitting] of [[1, "adaptive"], [2, "adaptive"], [2, "always"]] as const) {
      const m = await loadModel(dbllm, { contextLength: 128, threads, threadSplitting, kernel: "lut" });
      tokens.push((await m.generate(prompt.slice(0, 20), { temperature: 0, maxTokens: 24 }).done()).tokens);
      jobs.push(m.info().threads.jobs);
      m.dispose();
    }
    console.log(`  busy process ${pin ? "pinned to core 1" : "unpinned"}; jobs split/alone: adaptive ${jobs[1].split}/${jobs[1].alone}, always ${jobs[2].split}/${jobs[2].alone}`);
    assert.equal(tokens[1], tokens[0]);
    assert.equal(tokens[2], tokens[0]);
    assert.ok(jobs[2].split > 0 && jobs[2].alone === 0);
    assert.ok(jobs[1].split + jobs[1].alone === jobs[2].split);
  } finally {
    busy.kill("SIGKILL");
  }
});

test.run();
