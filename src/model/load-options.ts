// loadModel's options, checked all at once before anything is read, downloaded or compiled, and the thread plan
// they lead to.
import { platform } from "#platform";
import { checkKernelModules, type KernelPreference } from "../engine/engine.ts";
import { detectFeatures, type KernelModules } from "../engine/features.ts";
import { invalidArgument } from "../errors.ts";
import { FDB_KERNELS, type FdbKernel } from "../quant/runtime.ts";
import type { LoadProgress } from "./loader.ts";

export interface LoadOptions {
  /** Called as tensor data are read (bytes and fraction). */
  onProgress?: (progress: LoadProgress) => void;
  /** Context length of sessions (default: the model's trained context, at most 4096). */
  contextLength?: number;
  /** Aborts loading (rejects with DbllmError ABORTED). */
  signal?: AbortSignal;
  /** Kernel build: 'auto' (relaxed SIMD where available), 'simd' or 'relaxed'. */
  simd?: KernelPreference;
  /**
   * The kernels precompiled, for runtimes that refuse to compile WebAssembly from bytes (Cloudflare Workers,
   * Vercel Edge): the files of `dbllm/wasm/` imported as WebAssembly.Module objects, by build —
   * `{ simd, relaxed, "simd-threads", "relaxed-threads" }`, any subset; the best one given that can run here is
   * used. Importing "dbllm" with the "workerd" or "edge-light" condition passes { simd, relaxed } already.
   */
  wasmModules?: KernelModules;
  /**
   * Kernel for fdb2 (2-bit) matrices, all on the same stored bit planes: 'lut' (lookup tables with 6-bit table
   * entries — the fastest here), 'lut-exact' (exact int8 lookup tables), 'popcount' (popcount over bit planes,
   * also exact), or 'auto' (= 'lut'). See docs/KERNELS.md for speed and accuracy of each.
   */
  kernel?: FdbKernel;
  /** Tokens per forward batch during prefill (default 64). */
  batchSize?: number;
  /** Custom fetch for URL sources. */
  fetch?: typeof fetch;
  /**
   * Model cache for URL sources (browsers; ignored in Node, which reads files): true (the default in browsers)
   * keeps the downloaded file in the Cache API (or OPFS where only that exists) and reuses it while the
   * server's size/ETag/Last-Modified still match; false always downloads; 'cache-api' / 'opfs' pick one
   * storage. A full quota only skips caching. See docs/BROWSER.md.
   */
  cache?: boolean | "cache-api" | "opfs";
  /**
   * Threads for matrix products and attention (default: min(logical cores, the container's CPU quota where one
   * is visible, 4)). Needs WebAssembly threads and shared memory: browsers only offer them to cross-origin-isolated
   * pages, edge runtimes not at all; where they are missing the model runs on one thread and info().threads says why.
   */
  threads?: number;
  /**
   * How a job (one matrix product or attention step) uses the threads: 'adaptive' (default) measures, per kind
   * of job, whether splitting it is faster than running it on the calling thread, and keeps doing what is faster
   * — small matrices, and machines where another process holds a core, run alone; 'always' splits every job.
   * Results are bit-identical either way.
   */
  threadSplitting?: "adaptive" | "always";
  /**
   * Run the model in a dedicated Web Worker, so that loading and generation never block the thread that called
   * loadModel. Default: true on a page's main thread (a window), false elsewhere (Node, edge runtimes, inside a
   * worker of your own). The model's API stays the same; `info().runsIn` says where it runs and why. `false`
   * keeps it on the page; `true` elsewhere needs Web Workers. See docs/BROWSER.md.
   */
  worker?: boolean;
}

/** The options as the load uses them. */
export interface CheckedLoadOptions {
  batch: number;
  /** Threads asked for (or the default for this machine), and why there are that many (one, or several). */
  threads: number;
  oneReason: string;
  manyReason: string;
  /** Whether `threads` is the machine's default (a small model then runs on one thread: smallModelThreads). */
  defaulted: boolean;
  splitting: "adaptive" | "always";
  kernel: FdbKernel;
  modules: KernelModules | undefined;
}

const SIMD: readonly KernelPreference[] = ["auto", "simd", "relaxed"];
const CACHE: readonly unknown[] = [true, false, "cache-api", "opfs"];

/** Throws INVALID_ARGUMENT for the first option out of range. */
export function checkLoadOptions(o: LoadOptions): CheckedLoadOptions {
  if (o.contextLength !== undefined && (!Number.isSafeInteger(o.contextLength) || o.contextLength < 1)) {
    throw invalidArgument(`contextLength must be a positive integer, got ${o.contextLength}`);
  }
  const batch = o.batchSize ?? 64;
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 4096) throw invalidArgument(`batchSize must be an integer in [1, 4096]`);
  if (o.threads !== undefined && (!Number.isSafeInteger(o.threads) || o.threads < 1 || o.threads > 64)) throw invalidArgument(`threads must be an integer in [1, 64], got ${o.threads}`);
  const splitting = o.threadSplitting ?? "adaptive";
  if (splitting !== "adaptive" && splitting !== "always") throw invalidArgument(`threadSplitting must be 'adaptive' or 'always', got ${String(splitting)}`);
  const kernel = o.kernel ?? "auto";
  if (typeof kernel !== "string" || !Object.hasOwn(FDB_KERNELS, kernel)) throw invalidArgument(`kernel must be one of ${Object.keys(FDB_KERNELS).join(", ")}`);
  if (o.simd !== undefined && !SIMD.includes(o.simd)) throw invalidArgument(`simd must be one of ${SIMD.join(", ")}, got ${JSON.stringify(o.simd)}`);
  if (o.cache !== undefined && !CACHE.includes(o.cache)) throw invalidArgument(`cache must be true, false, "cache-api" or "opfs", got ${JSON.stringify(o.cache)}`);
  if (o.worker !== undefined && typeof o.worker !== "boolean") throw invalidArgument(`worker must be true or false, got ${JSON.stringify(o.worker)}`);
  for (const f of ["onProgress", "fetch"] as const) {
    if (o[f] !== undefined && typeof o[f] !== "function") throw invalidArgument(`${f} must be a function`);
  }
  const modules = checkKernelModules(o.wasmModules);
  const dflt = defaultThreads();
  const threads = o.threads ?? dflt.count;
  const oneReason = o.threads === 1 ? "threads: 1 requested" : dflt.reason;
  const manyReason = o.threads === undefined ? dflt.reason : `${threads} threads requested`;
  return { batch, threads, oneReason, manyReason, defaulted: o.threads === undefined, splitting, kernel, modules };
}

/**
 * Below this many bytes of weights the default is one thread: a token's matrix products are too small for a
 * second thread to pay for its coordination. Measured (docs/BENCHMARKS.md#threads-idle-and-with-a-core-taken): the
 * 62 MiB SmolLM2-135M decoded at 0.85–1.10× one thread with two, TinyLlama-1.1B (~380 MiB at 2 bits) at 1.36–1.5×.
 */
export const SMALL_MODEL_BYTES = 128 * 2 ** 20;

/** Why a model of `bytes` of weights runs on one thread by default. */
export function smallModelReason(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return `one thread: the default for a model of ${mib.toFixed(mib < 10 ? 1 : 0)} MiB of weights (below ${SMALL_MODEL_BYTES / 2 ** 20} MiB a second thread did not pay); pass threads to override`;
}

/** The default thread count: logical cores, capped by a visible CPU quota and by 4; with the reason for it. */
function defaultThreads(): { count: number; reason: string } {
  const cores = platform.cpuCount();
  const quota = platform.cpuQuota();
  const count = Math.max(1, Math.min(cores, quota === undefined ? cores : Math.floor(quota), 4));
  const why = `min(${cores} logical core${cores === 1 ? "" : "s"}${quota === undefined ? "" : `, CPU quota ${+quota.toFixed(2)}`}, 4)`;
  return { count, reason: count === 1 ? `one thread: the default, ${why}` : `${count} threads: the default, ${why}` };
}

/** Whether `requested` threads can run here: shared wasm memory, workers, and (in browsers) isolation. */
export function threadPlan(requested: number, oneReason: string, modules: KernelModules | undefined): { shared: boolean; reason: string } {
  if (requested === 1) return { shared: false, reason: oneReason };
  const support = platform.threadSupport();
  if (!support.ok) return { shared: false, reason: support.reason };
  if (!detectFeatures(modules).sharedMemory) return { shared: false, reason: modules ? "wasmModules has no threads build" : "this engine has no WebAssembly threads (shared memory)" };
  return { shared: true, reason: `${requested} threads` };
}
