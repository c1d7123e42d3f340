// The worker pool: N−1 workers plus the calling thread run each job's ranges over one shared wasm memory.
// One pool per engine; see pool-protocol.ts for the wire format and docs/THREADS.md for the design.
import { DbllmError, internalError } from "../errors.ts";
import { platform } from "#platform";
import type { Engine } from "./engine.ts";
import { ModeChooser } from "./adaptive.ts";
import { splitRange, type Executor, type RangeCall } from "./exec.ts";
import { RANGE_KERNELS } from "./kernels.generated.ts";
import {
  CALL_WORDS, CLAIM, CONTROL_BYTES, DONE, ERROR, JOB_BYTES, JOB_CALLS, JOB_CHUNKS, JOB_SCRATCH, JOB_TIMEOUT_MS, JOB_WORDS, MAX_ARGS,
  MAX_CALLS, MAX_CHUNKS, MAX_WORKERS, SEQ, SLEEPERS, SPIN_MS, STOP, WAITER, WORKER_DONE, WORKER_STATE, claimChunk, runChunk, type WorkerInit,
  type WorkerMessage,
} from "./pool-protocol.ts";
import type { WorkerHandle } from "../platform/types.ts";

const KERNEL_INDEX = new Map<string, number>(RANGE_KERNELS.map((n, i) => [n, i]));
/** Chunks per thread and call: enough that a thread that falls behind leaves its share to the others. */
const CHUNKS_PER_THREAD = 4;

export class Pool implements Executor {
  readonly threads: number;
  readonly reason: string;
  private readonly control: number;
  private readonly job: number;
  private kernels: ((...a: number[]) => void)[] = [];
  private readonly chooser = new ModeChooser();
  private args: number[] = [];
  private scratch: number[] = [];
  private scratchCap = 0;
  private disposed = false;

  private constructor(private readonly engine: Engine, private readonly workers: WorkerHandle[], control: number, job: number, reason: string,
    private readonly adaptive: boolean) {
    this.threads = workers.length + 1;
    this.control = control;
    this.job = job;
    this.reason = reason;
    const k = engine.k as unknown as Record<string, (...a: number[]) => void>;
    this.kernels = RANGE_KERNELS.map((n) => k[n]);
  }

  /** Starts `threads − 1` workers on the engine's shared memory (the engine must have been created shared). */
  static async create(engine: Engine, threads: number, reason: string, adaptive = true): Promise<Pool> {
    if (!(engine.memory.buffer instanceof SharedArrayBuffer)) throw internalError("the pool needs a shared-memory engine");
    if (threads - 1 > MAX_WORKERS) throw new DbllmError("INVALID_ARGUMENT", `at most ${MAX_WORKERS + 1} threads`);
    const control = engine.arena.alloc(CONTROL_BYTES + JOB_BYTES, "pool control block");
    engine.u8(control, CONTROL_BYTES + JOB_BYTES).fill(0);
    const workers: WorkerHandle[] = [];
    try {
      for (let w = 0; w < threads - 1; w++) {
        const worker = await platform.createWorker();
        workers.push(worker);
        const ready = new Promise<void>((resolve, reject) => {
          worker.onMessage((msg) => {
            const m = msg as WorkerMessage;
            if (m.type === "dbllm:ready") resolve();
            else reject(new DbllmError("WORKER_FAILED", `a pool worker failed to start: ${m.message}`));
          });
          worker.onError((e) => reject(new DbllmError("WORKER_FAILED", `a pool worker failed to start: ${e.message}`)));
        });
        const init: WorkerInit = { type: "dbllm:init", module: engine.module, memory: engine.memory, control, job: control + CONTROL_BYTES, index: w };
        worker.postMessage(init);
        await ready;
        worker.unref(); // from here on the worker talks only through shared memory
      }
    } catch (e) {
      for (const w of workers) w.terminate();
      engine.arena.dealloc(control);
      throw e;
    }
    return new Pool(engine, workers, control, control + CONTROL_BYTES, reason, adaptive);
  }

  run(calls: RangeCall[], scratchBytes = 0): void {
    if (this.disposed) throw new DbllmError("DISPOSED", "the model was disposed");
    if (scratchBytes > this.scratchCap) this.growScratch(scratchBytes);
    const key = calls.map((c) => c.kind ?? `${c.fn}:${c.count}`).join("+");
    const mode = this.adaptive ? this.chooser.choose() : this.chooser.count("pooled");
    const t0 = performance.now();
    if (mode === "solo") this.runSolo(calls);
    else this.runPooled(calls);
    this.chooser.record(key, mode, performance.now() - t0);
  }

  jobs(): { split: number; alone: number } {
    const s = this.chooser.stats();
    return { split: s.pooled, alone: s.solo };
  }

  /** Every call over its whole range on this thread (the workers stay asleep). */
  private runSolo(calls: RangeCall[]): void {
    const k = this.engine.k as unknown as Record<string, (...a: number[]) => void>;
    for (const c of calls) {
      const args = c.args.slice();
      if (c.scratchArg !== undefined) args[c.scratchArg] = this.scratch[0];
      k[c.fn](...args, 0, c.count);
    }
  }

  private runPooled(calls: RangeCall[]): void {
    const P = this.threads;
    const buffer = this.engine.memory.buffer;
    const ctrl = new Int32Array(buffer, this.control, CONTROL_BYTES / 4);
    const job = new Float64Array(buffer, this.job, JOB_WORDS);
    if (calls.length > MAX_CALLS) throw internalError("pool job has too many calls");
    // the description: calls, scratch buffers, chunks (each call's range cut into aligned pieces)
    job[0] = calls.length;
    let n = 0;
    calls.forEach((c, i) => {
      if (c.args.length + 2 > MAX_ARGS) throw internalError("pool call has too many arguments");
      const w = JOB_CALLS + i * CALL_WORDS;
      job[w] = KERNEL_INDEX.get(c.fn)!;
      job[w + 1] = c.args.length;
      job[w + 2] = c.scratchArg ?? -1;
      for (let k = 0; k < c.args.length; k++) job[w + 3 + k] = c.args[k];
      const pieces = Math.min(Math.ceil(c.count / c.align), CHUNKS_PER_THREAD * P, Math.floor(MAX_CHUNKS / calls.length));
      for (const [a, b] of splitRange(c.count, pieces, c.align)) {
        if (a >= b) continue;
        job[JOB_CHUNKS + 3 * n] = i;
        job[JOB_CHUNKS + 3 * n + 1] = a;
        job[JOB_CHUNKS + 3 * n + 2] = b;
        n++;
      }
    });
    for (let t = 0; t < P; t++) job[JOB_SCRATCH + t] = this.scratch[t] ?? 0;
    if (n === 0) return;
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CLAIM, n << 16);
    Atomics.add(ctrl, SEQ, 1);
    if (Atomics.load(ctrl, SLEEPERS) > 0) Atomics.notify(ctrl, SEQ);
    // this thread takes chunks like any worker; it then waits only for the chunks workers took. A kernel that
    // fails here fails the job as one failing in a worker does — after the workers' chunks are done, and with
    // the chunks left taken (and skipped) here, so that the pool stays consistent for the next job.
    let mine = 0, failure: unknown;
    for (let c = claimChunk(ctrl); c >= 0; c = claimChunk(ctrl)) {
      mine++;
      if (failure === undefined) {
        try { runChunk(job, c, 0, this.kernels, this.args); } catch (e) { failure = e ?? "?"; }
      }
    }
    const target = n - mine;
    // spin first (a browser window's main thread may not Atomics.wait at all), then sleep in short waits
    const canSleep = platform.canBlock;
    const start = performance.now();
    for (let d = Atomics.load(ctrl, DONE); d < target; d = Atomics.load(ctrl, DONE)) {
      const waited = performance.now() - start;
      if (canSleep && waited > SPIN_MS) {
        Atomics.store(ctrl, WAITER, 1); // then re-read DONE: a chunk finished in between is seen, not slept through
        const now = Atomics.load(ctrl, DONE);
        if (now < target) Atomics.wait(ctrl, DONE, now, 1);
        Atomics.store(ctrl, WAITER, 0);
      }
      if (waited > JOB_TIMEOUT_MS) {
        const seq = Atomics.load(ctrl, SEQ);
        const states = this.workers.map((_, w) => `worker ${w + 1}: state ${Atomics.load(ctrl, WORKER_STATE(w))}, last job ${Atomics.load(ctrl, WORKER_DONE(w))}`);
        this.dispose();
        throw new DbllmError("WORKER_FAILED", `a pool job (${seq}) did not finish within ${JOB_TIMEOUT_MS / 1000} s: ${target - d} of its ${n} chunks were taken by workers that never finished them; the pool was stopped (${states.join("; ")}; states: 1 polling, 2 sleeping, 3 running, 4 stopped, 5 failed)`);
      }
    }
    if (failure !== undefined || Atomics.load(ctrl, ERROR)) {
      Atomics.store(ctrl, ERROR, 0);
      throw new DbllmError("WORKER_FAILED", `a kernel failed in the thread pool${failure instanceof Error ? `: ${failure.message}` : ""}`, { cause: failure });
    }
  }

  private growScratch(bytes: number): void {
    for (const p of this.scratch) this.engine.arena.dealloc(p);
    this.scratchCap = Math.max(bytes, this.scratchCap * 2, 4096);
    this.scratch = Array.from({ length: this.threads }, () => this.engine.arena.alloc(this.scratchCap, "thread scratch"));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const ctrl = new Int32Array(this.engine.memory.buffer, this.control, CONTROL_BYTES / 4);
    Atomics.store(ctrl, STOP, 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    for (const w of this.workers) w.terminate();
  }
}
