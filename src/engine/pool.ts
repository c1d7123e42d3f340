// The worker pool: N−1 workers plus the calling thread run each job's ranges over one shared wasm memory.
// One pool per engine; see pool-protocol.ts for the wire format and docs/THREADS.md for the design.
import { DbllmError, internalError } from "../errors.ts";
import { platform } from "#platform";
import type { Engine } from "./engine.ts";
import { RANGE_KERNELS } from "./kernels.generated.ts";
import { splitRange, type Executor, type RangeCall } from "./exec.ts";
import {
  CONTROL_BYTES, ERROR, JOB_TIMEOUT_MS, MAX_ARGS, MAX_CALLS, MAX_WORKERS, REMAINING, SEQ, SLOT_BYTES, SPIN_MS, STOP,
  WORKER_DONE, WORKER_STATE, type WorkerInit, type WorkerMessage,
} from "./pool-protocol.ts";
import type { WorkerHandle } from "../platform/types.ts";

const KERNEL_INDEX = new Map<string, number>(RANGE_KERNELS.map((n, i) => [n, i]));

export class Pool implements Executor {
  readonly threads: number;
  readonly reason: string;
  private readonly control: number;
  private readonly slots: number;
  private scratch: number[] = [];
  private scratchCap = 0;
  private disposed = false;

  private constructor(private readonly engine: Engine, private readonly workers: WorkerHandle[], control: number, slots: number, reason: string) {
    this.threads = workers.length + 1;
    this.control = control;
    this.slots = slots;
    this.reason = reason;
  }

  /** Starts `threads − 1` workers on the engine's shared memory (the engine must have been created shared). */
  static async create(engine: Engine, threads: number, reason: string): Promise<Pool> {
    if (!(engine.memory.buffer instanceof SharedArrayBuffer)) throw internalError("the pool needs a shared-memory engine");
    if (threads - 1 > MAX_WORKERS) throw new DbllmError("INVALID_ARGUMENT", `at most ${MAX_WORKERS + 1} threads`);
    const control = engine.arena.alloc(CONTROL_BYTES + (threads - 1) * SLOT_BYTES, "pool control block");
    engine.u8(control, CONTROL_BYTES + (threads - 1) * SLOT_BYTES).fill(0);
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
        const init: WorkerInit = { type: "dbllm:init", module: engine.module, memory: engine.memory, control, slot: control + CONTROL_BYTES + w * SLOT_BYTES, index: w };
        worker.postMessage(init);
        await ready;
        worker.unref(); // from here on the worker talks only through shared memory
      }
    } catch (e) {
      for (const w of workers) w.terminate();
      engine.arena.dealloc(control);
      throw e;
    }
    return new Pool(engine, workers, control, control + CONTROL_BYTES, reason);
  }

  run(calls: RangeCall[], scratchBytes = 0): void {
    if (this.disposed) throw new DbllmError("DISPOSED", "the model was disposed");
    const P = this.threads;
    if (scratchBytes > this.scratchCap) this.growScratch(scratchBytes);
    const buffer = this.engine.memory.buffer;
    const ctrl = new Int32Array(buffer, this.control, CONTROL_BYTES / 4);
    const parts = calls.map((c) => splitRange(c.count, P, c.align));
    // worker w (1..P−1) gets part w of every call
    for (let w = 1; w < P; w++) {
      const slot = new Float64Array(buffer, this.slots + (w - 1) * SLOT_BYTES, 1 + MAX_CALLS * (2 + MAX_ARGS));
      let n = 0;
      calls.forEach((c, i) => {
        const [a, b] = parts[i][w];
        if (a >= b) return;
        if (n === MAX_CALLS || c.args.length + 2 > MAX_ARGS) throw internalError("pool job too large");
        const base = 1 + n * (2 + MAX_ARGS);
        slot[base] = KERNEL_INDEX.get(c.fn)!;
        slot[base + 1] = c.args.length + 2;
        c.args.forEach((v, k) => { slot[base + 2 + k] = k === c.scratchArg ? this.scratch[w] : v; });
        slot[base + 2 + c.args.length] = a;
        slot[base + 3 + c.args.length] = b;
        n++;
      });
      slot[0] = n;
    }
    Atomics.store(ctrl, REMAINING, P - 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    // this thread's part
    const k = this.engine.k as unknown as Record<string, (...a: number[]) => void>;
    calls.forEach((c, i) => {
      const [a, b] = parts[i][0];
      if (a >= b) return;
      const args = c.args.slice();
      if (c.scratchArg !== undefined) args[c.scratchArg] = this.scratch[0];
      k[c.fn](...args, a, b);
    });
    // wait for the workers (spin: this may be a browser main thread, where Atomics.wait is not allowed)
    const canSleep = platform.canBlock;
    const start = performance.now();
    for (let r = Atomics.load(ctrl, REMAINING); r !== 0; r = Atomics.load(ctrl, REMAINING)) {
      if (r < 0) { this.dispose(); throw new DbllmError("WORKER_FAILED", `the pool's job counter went negative (${r}); the pool was stopped`); }
      const waited = performance.now() - start;
      if (canSleep && waited > SPIN_MS) Atomics.wait(ctrl, REMAINING, r, 1);
      if (waited > JOB_TIMEOUT_MS) {
        const seq = Atomics.load(ctrl, SEQ);
        const states = this.workers.map((_, w) => `worker ${w + 1}: state ${Atomics.load(ctrl, WORKER_STATE(w))}, last job ${Atomics.load(ctrl, WORKER_DONE(w))}`);
        this.dispose();
        throw new DbllmError("WORKER_FAILED", `a pool job (${seq}) did not finish within ${JOB_TIMEOUT_MS / 1000} s; the pool was stopped (${states.join("; ")}; states: 1 polling, 2 sleeping, 3 running, 4 stopped, 5 failed)`);
      }
    }
    if (Atomics.load(ctrl, ERROR)) {
      Atomics.store(ctrl, ERROR, 0);
      throw new DbllmError("WORKER_FAILED", "a kernel failed in a pool worker");
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
