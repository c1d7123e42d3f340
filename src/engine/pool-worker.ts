// A pool worker (Node worker_threads or a browser Web Worker; an esbuild entry of its own): instantiates the
// kernel module over the shared memory, then loops — wait for a job, take its chunks one at a time until none
// is left, report each one done. It never returns to its event loop until told to stop.
import { platform } from "#platform";
import { RANGE_KERNELS } from "./kernels.generated.ts";
import {
  CONTROL_BYTES, DONE, ERROR, JOB_WORDS, SEQ, SPIN_MS, STATE_FAILED, STATE_POLLING, STATE_RUNNING, STATE_SLEEPING,
  STATE_STOPPED, SLEEPERS, STOP, WAITER, WORKER_DONE, WORKER_STATE, claimChunk, runChunk, type WorkerInit, type WorkerMessage,
} from "./pool-protocol.ts";

function serve(init: WorkerInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const exports = instance.exports as unknown as Record<string, (...a: number[]) => void>;
  const kernels = RANGE_KERNELS.map((n) => exports[n]);
  const ctrl = new Int32Array(init.memory.buffer, init.control, CONTROL_BYTES / 4);
  const job = new Float64Array(init.memory.buffer, init.job, JOB_WORDS);
  // The control block starts zeroed and no job is posted before every worker has said it is ready.
  let seen = 0;
  const args: number[] = [];
  const state = (v: number) => Atomics.store(ctrl, WORKER_STATE(init.index), v);
  ready();
  for (;;) {
    // poll briefly (jobs arrive every ~0.1 ms during a forward pass), then sleep until notified
    state(STATE_POLLING);
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(ctrl, SEQ) === seen && performance.now() < until) { /* spin */ }
    while (Atomics.load(ctrl, SEQ) === seen) {
      state(STATE_SLEEPING);
      Atomics.add(ctrl, SLEEPERS, 1); // before the wait, which re-reads SEQ: a job posted in between is not missed
      Atomics.wait(ctrl, SEQ, seen);
      Atomics.sub(ctrl, SLEEPERS, 1);
    }
    // A wake-up is only a hint: what this worker runs is decided by the chunks it manages to claim, which may
    // belong to this job, a later one, or none (the caller and the other workers took them all meanwhile).
    seen = Atomics.load(ctrl, SEQ);
    if (Atomics.load(ctrl, STOP)) { state(STATE_STOPPED); return; }
    state(STATE_RUNNING);
    for (let c = claimChunk(ctrl); c >= 0; c = claimChunk(ctrl)) {
      try {
        runChunk(job, c, init.index + 1, kernels, args);
      } catch {
        Atomics.store(ctrl, ERROR, 1);
      }
      Atomics.add(ctrl, DONE, 1);
      if (Atomics.load(ctrl, WAITER)) Atomics.notify(ctrl, DONE);
    }
    Atomics.store(ctrl, WORKER_DONE(init.index), seen);
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
    try { Atomics.store(new Int32Array(init.memory.buffer, init.control, CONTROL_BYTES / 4), WORKER_STATE(init.index), STATE_FAILED); } catch { /* no memory */ }
    p.postMessage({ type: "dbllm:error", message: (e as Error).message } satisfies WorkerMessage);
  }
});
