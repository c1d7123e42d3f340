// How kernels run: on the calling thread, or split across a worker pool sharing the wasm memory. The forward
// pass describes work as kernel calls whose last two arguments are a range (output rows of a matrix product,
// or attention heads); an executor decides who computes which part of the range.
import type { Engine } from "./engine.ts";
import type { RangeKernel } from "./kernels.generated.ts";

/** A kernel call over a range [0, count): `args` come first, then (start, end). */
export interface RangeCall {
  fn: RangeKernel;
  args: number[];
  count: number;
  /** Ranges given to one thread start at multiples of this (the format's row block). */
  align: number;
  /** Index of an argument that must be a per-thread scratch buffer of `scratchBytes` (attention scores). */
  scratchArg?: number;
  /** What makes calls alike in cost (kernel, shape, tokens): a pool measures each kind to decide how to run it. */
  kind?: string;
}

export interface Executor {
  readonly threads: number;
  /** Why this executor has the thread count it has (for model.info()). */
  readonly reason: string;
  /** Runs every call over its whole range; with several threads each call's range is split among them. */
  run(calls: RangeCall[], scratchBytes?: number): void;
  /** Jobs run so far split across threads, and on the calling thread alone. */
  jobs(): { split: number; alone: number };
  dispose(): void;
}

export class SingleThread implements Executor {
  readonly threads = 1;
  private scratch = 0;
  private scratchCap = 0;
  private count = 0;
  constructor(private readonly engine: Engine, readonly reason: string) {}

  jobs(): { split: number; alone: number } {
    return { split: 0, alone: this.count };
  }

  run(calls: RangeCall[], scratchBytes = 0): void {
    this.count++;
    const k = this.engine.k as unknown as Record<string, (...a: number[]) => void>;
    for (const c of calls) {
      const args = c.args.slice();
      if (c.scratchArg !== undefined) args[c.scratchArg] = this.scratchFor(scratchBytes);
      k[c.fn](...args, 0, c.count);
    }
  }

  private scratchFor(bytes: number): number {
    if (bytes > this.scratchCap) {
      if (this.scratch) this.engine.arena.dealloc(this.scratch);
      this.scratchCap = Math.max(bytes, this.scratchCap * 2, 4096);
      this.scratch = this.engine.arena.alloc(this.scratchCap, "thread scratch");
    }
    return this.scratch;
  }

  dispose(): void {
    if (this.scratch) this.engine.arena.dealloc(this.scratch);
    this.scratch = 0;
  }
}

/** Splits [0, count) into `parts` ranges aligned to `align`, as even as the alignment allows. */
export function splitRange(count: number, parts: number, align: number): [number, number][] {
  const blocks = Math.ceil(count / align);
  const out: [number, number][] = [];
  for (let p = 0; p < parts; p++) {
    const b0 = Math.floor((blocks * p) / parts), b1 = Math.floor((blocks * (p + 1)) / parts);
    out.push([Math.min(count, b0 * align), Math.min(count, b1 * align)]);
  }
  return out;
}
