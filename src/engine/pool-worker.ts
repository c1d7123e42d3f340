// A pool worker (Node worker_threads or a browser Web Worker; an esbuild entry of its own): instantiates the
// kernel module over the shared memory, then loops — wait for the job counter to move, run the calls in its
// slot, report done. It never returns to its event loop until told to stop.
import { platform } from "#platform";
import { RANGE_KERNELS } from "./kernels.generated.ts";
import {
  CONTROL_BYTES, ERROR, MAX_ARGS, MAX_CALLS, REMAINING, SEQ, SPIN_MS, STATE_FAILED, STATE_POLLING, STATE_RUNNING,
  STATE_SLEEPING, STATE_STOPPED, STOP, WORKER_DONE, WORKER_STATE, type WorkerInit, type WorkerMessage,
} from "./pool-protocol.ts";

function serve(init: WorkerInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const exports = instance.exports as unknown as Record<string, (...a: number[]) => void>;
  const kernels = RANGE_KERNELS.map((n) => exports[n]);
  const ctrl = new Int32Array(init.memory.buffer, init.control, CONTROL_BYTES / 4);
  const slot = new Float64Array(init.memory.buffer, init.slot, 1 + MAX_CALLS * (2 + MAX_ARGS));
  // The control block starts zeroed and no job is posted before every worker has said it is ready, so the
  // first job is SEQ = 1 — reading SEQ here instead could miss a job posted while this worker was starting.
  let seen = 0;
  const args: number[] = [];
  const state = (v: number) => Atomics.store(ctrl, WORKER_STATE(init.index), v);
  ready();
  for (;;) {
    // poll briefly (jobs arrive every ~0.1 ms during a forward pass), then sleep until notified
    state(STATE_POLLING);
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(ctrl, SEQ) === seen && performance.now() < until) { /* spin */ }
    // A wake-up is not a job: the caller bumps SEQ and then notifies, and when it is preempted between the
    // two this worker may already have seen the bump, run the job and gone to sleep — the late notify must
    // not make it run the same job twice (that drove REMAINING below zero: a hang, or a next job marked done).
    while (Atomics.load(ctrl, SEQ) === seen) { state(STATE_SLEEPING); Atomics.wait(ctrl, SEQ, seen); }
    seen = Atomics.load(ctrl, SEQ);
    if (Atomics.load(ctrl, STOP)) { state(STATE_STOPPED); return; }
    state(STATE_RUNNING);
    try {
      const n = slot[0];
      for (let c = 0; c < n; c++) {
        const base = 1 + c * (2 + MAX_ARGS), fn = slot[base], nargs = slot[base + 1];
        args.length = nargs;
        for (let i = 0; i < nargs; i++) args[i] = slot[base + 2 + i];
        kernels[fn](...args);
      }
    } catch {
      Atomics.store(ctrl, ERROR, 1);
    }
    Atomics.store(ctrl, WORKER_DONE(init.index), seen);
    if (Atomics.sub(ctrl, REMAINING, 1) === 1) Atomics.notify(ctrl, REMAINING);
  }
}

const p = await platform.parentPort();
p.once((msg) => {
  const init = msg as WorkerInit;
  try {
    if (init?.type !== "dbllm:init") throw new Error("unexpected first message");
    serve(init, () => p.postMessage({ type: "dbllm:ready" } satisfies WorkerMessage));
  } catch (e) {
    // anything escaping the loop: say so in shared memory (the caller may be blocked and deaf to messages)
    try { Atomics.store(new Int32Array(init.memory.buffer, init.control, 16), WORKER_STATE(init.index), STATE_FAILED); } catch { /* no memory */ }
    p.postMessage({ type: "dbllm:error", message: (e as Error).message } satisfies WorkerMessage);
  }
});
