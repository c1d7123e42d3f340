// The worker pool's protocol, shared by the main side (pool.ts) and the workers (pool-worker.ts).
// Setup travels by postMessage once; every job afterwards goes through a control block in the shared wasm
// memory: Int32 words SEQ (job counter), REMAINING (workers not done), STOP, ERROR; then one slot per worker
// holding its calls as float64: [count, then per call: kernel index (into RANGE_KERNELS, generated from the
// kernel module's exports), argument count, arguments...].

export const SEQ = 0, REMAINING = 1, STOP = 2, ERROR = 3;
/** Per worker w (0-based), two diagnostic words: the last job it finished, and its state. */
export const WORKER_DONE = (w: number) => 4 + 2 * w, WORKER_STATE = (w: number) => 5 + 2 * w;
export const STATE_POLLING = 1, STATE_SLEEPING = 2, STATE_RUNNING = 3, STATE_STOPPED = 4, STATE_FAILED = 5;
export const MAX_WORKERS = 62;
export const CONTROL_BYTES = 4 * (4 + 2 * MAX_WORKERS);
/** A job that has not finished after this long means a worker is gone: fail loudly instead of waiting forever. */
export const JOB_TIMEOUT_MS = 60_000;
export const SLOT_BYTES = 2048;
export const MAX_CALLS = 8;
export const MAX_ARGS = 20;

export interface WorkerInit {
  type: "dbllm:init";
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  slot: number;
  /** This worker's index (0-based) for its diagnostic words. */
  index: number;
}

export type WorkerMessage = { type: "dbllm:ready" } | { type: "dbllm:error"; message: string };

/**
 * How long a waiting thread polls before it sleeps in Atomics.wait (ms). Jobs come every ~0.1 ms while a token
 * runs, so a short poll saves the wake-up latency; a long one steals the core from other threads when the
 * machine is oversubscribed (more threads than free cores), which made every job wait for a time slice.
 */
export const SPIN_MS = 0.2;
