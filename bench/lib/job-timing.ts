// Entry of an instrumented browser bundle for bench/browser-jobs.ts: dbllm's public API plus a timer around every
// pool job — how long each kind of job takes on one thread (SingleThread.run), split across the pool
// (Pool.runPooled) or run alone on the calling thread by the pool (Pool.runSolo). The wrappers wrap the methods
// on the prototypes: the engine itself is unchanged.
import { SingleThread, type RangeCall } from "../../src/engine/exec.ts";
import { Pool } from "../../src/engine/pool.ts";

export * from "../../src/index.ts";

export interface JobTime {
  /** "single" (threads: 1), "split" or "alone" (the pool), then the job's kinds ('+' joins the calls of one job). */
  mode: string;
  kind: string;
  jobs: number;
  ms: number;
}

const times = new Map<string, JobTime>();
let on = false;

export const jobTimer = {
  start(): void { times.clear(); on = true; },
  stop(): JobTime[] { on = false; return [...times.values()]; },
};

type Run = (this: unknown, calls: RangeCall[], scratchBytes?: number) => void;

function wrap(proto: object, method: string, mode: string): void {
  const methods = proto as Record<string, Run>;
  const original = methods[method];
  if (typeof original !== "function") throw new Error(`job-timing: ${method} is gone from the executor (src/engine changed)`);
  methods[method] = function (this: unknown, calls: RangeCall[], scratchBytes?: number): void {
    if (!on) return original.call(this, calls, scratchBytes);
    const t0 = performance.now();
    original.call(this, calls, scratchBytes);
    const ms = performance.now() - t0;
    // attention's kind carries a context bucket: one row for all of them
    const kind = calls.map((c) => (c.kind ?? c.fn).replace(/^attention:.*/, "attention")).join("+");
    const key = `${mode}|${kind}`;
    const t = times.get(key) ?? { mode, kind, jobs: 0, ms: 0 };
    t.jobs++;
    t.ms += ms;
    times.set(key, t);
  };
}

wrap(SingleThread.prototype, "run", "single");
wrap(Pool.prototype, "runPooled", "split");
wrap(Pool.prototype, "runSolo", "alone");
