// The worker pool's protocol, shared by the main side (pool.ts) and the workers (pool-worker.ts).
// Setup travels by postMessage once; every job afterwards goes through shared wasm memory:
//  - a control block of Int32 words: SEQ (bumped for every job, what sleeping workers wait on), STOP, ERROR,
//    CLAIM (the current job's chunk counter: chunk count << 16 | next unclaimed chunk), DONE (chunks finished by
//    workers in the current job), SLEEPERS and WAITER (who may be asleep), then two diagnostic words per worker;
//  - one job description of float64 words: the calls (kernel index into RANGE_KERNELS, the range kernels of the
//    generated registry kernels.generated.ts; argument count, which argument is the
//    per-thread scratch buffer, the arguments), every thread's scratch address, and the chunks (call, start, end).
// Any thread — the caller included — takes the next chunk by compare-and-swap on CLAIM, so a thread that is late
// (not scheduled, still waking up) simply takes fewer chunks, and the caller waits only for chunks a worker has
// actually started. The description is read only after a successful claim, and the caller rewrites it only when
// every chunk of the previous job is claimed and done, so a claim always refers to the description in memory.

export const SEQ = 0, STOP = 1, ERROR = 2, CLAIM = 3, DONE = 4;
/** Workers asleep on SEQ, and whether the caller is asleep on DONE: notify only a thread that may be asleep
 * (a notify costs a lock, and the threads poll between jobs most of the time). */
export const SLEEPERS = 5, WAITER = 6;
/** Per worker w (0-based), two diagnostic words: the last job it took part in, and its state. */
export const WORKER_DONE = (w: number) => 7 + 2 * w, WORKER_STATE = (w: number) => 8 + 2 * w;
export const STATE_POLLING = 1, STATE_SLEEPING = 2, STATE_RUNNING = 3, STATE_STOPPED = 4, STATE_FAILED = 5;
export const MAX_WORKERS = 62;
export const CONTROL_BYTES = 4 * (7 + 2 * MAX_WORKERS) + 4; // padded to a multiple of 8
/** A job that has not finished after this long means a worker is gone: fail loudly instead of waiting forever. */
export const JOB_TIMEOUT_MS = 60_000;
export const MAX_CALLS = 8;
export const MAX_ARGS = 20;
export const MAX_CHUNKS = 512;
/** Float64 layout of the job description. */
export const CALL_WORDS = 3 + MAX_ARGS; // kernel, argument count, scratch argument (−1: none), arguments
export const JOB_CALLS = 1; // word 0: number of calls
export const JOB_SCRATCH = JOB_CALLS + MAX_CALLS * CALL_WORDS; // MAX_WORKERS + 1 scratch addresses (thread 0 = caller)
export const JOB_CHUNKS = JOB_SCRATCH + MAX_WORKERS + 1; // MAX_CHUNKS × (call, start, end)
export const JOB_WORDS = JOB_CHUNKS + 3 * MAX_CHUNKS;
export const JOB_BYTES = 8 * JOB_WORDS;

export interface WorkerInit {
  type: "dbllm:init";
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  job: number;
  /** This worker's index (0-based): its diagnostic words, and thread index + 1 for its scratch buffer. */
  index: number;
}

export type WorkerMessage = { type: "dbllm:ready" } | { type: "dbllm:error"; message: string };

/**
 * How long a waiting thread polls before it sleeps in Atomics.wait (ms). Jobs come every ~0.1 ms while a token
 * runs, so a short poll saves the wake-up latency; a long one steals the core from other threads when the
 * machine is oversubscribed (more threads than free cores).
 */
export const SPIN_MS = 0.2;

/** Takes the next chunk of the current job: its index, or −1 when every chunk is taken. */
export function claimChunk(ctrl: Int32Array): number {
  for (;;) {
    const v = Atomics.load(ctrl, CLAIM);
    const next = v & 0xffff;
    if (next >= v >>> 16) return -1;
    if (Atomics.compareExchange(ctrl, CLAIM, v, v + 1) === v) return next;
  }
}

/** Runs chunk `c` of the job in `job` on the thread whose scratch buffer is number `thread`. */
export function runChunk(job: Float64Array, c: number, thread: number, kernels: readonly ((...a: number[]) => void)[], args: number[]): void {
  const base = JOB_CHUNKS + 3 * c;
  const call = JOB_CALLS + job[base] * CALL_WORDS;
  const nargs = job[call + 1], scratchArg = job[call + 2];
  args.length = nargs + 2;
  for (let i = 0; i < nargs; i++) args[i] = job[call + 3 + i];
  if (scratchArg >= 0) args[scratchArg] = job[JOB_SCRATCH + thread];
  args[nargs] = job[base + 1];
  args[nargs + 1] = job[base + 2];
  kernels[job[call]](...args);
}
