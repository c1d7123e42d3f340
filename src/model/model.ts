// The public Model: loads from any source, owns the wasm engine and weights, hands out sessions, and offers
// generate()/chat() on a default session.
import { checkKernelModules, Engine, loadKernels, type KernelPreference } from "../engine/engine.ts";
import { SingleThread, type Executor } from "../engine/exec.ts";
import { detectFeatures, type KernelModules } from "../engine/features.ts";
import { Pool } from "../engine/pool.ts";
import { platform } from "#platform";
import { DbllmError, invalidArgument, throwIfAborted } from "../errors.ts";
import type { GenerateOptions } from "../generate/options.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import type { GenerationStream } from "../generate/stream.ts";
import type { ChatMessage, Tokenizer } from "../tokenizer/index.ts";
import { FDB_LUT, FDB_LUT_EXACT, FDB_POP, type RuntimeFormat } from "../quant/runtime.ts";
import { ropeInvFreq, type ModelConfig } from "./config.ts";
import { Forward } from "./forward.ts";
import { placeWeights, weightBytes, type LoadProgress } from "./loader.ts";
import { chatEncoder, type ModelCore } from "./model-core.ts";
import { Session, type ChatOptions, type SessionOptions } from "./session.ts";
import { openModel, type ModelSource } from "./sources.ts";

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
}

export interface ModelInfo {
  name: string;
  format: string;
  architecture: string;
  config: ModelConfig;
  parameters: number;
  weightBytes: number;
  /** Bytes of KV cache per context position. */
  kvBytesPerToken: number;
  contextLength: number;
  /** The wasm kernel build in use, and the kernel that runs fdb2 matrices. */
  kernels: { build: string; relaxedSimd: boolean; fdb: string };
  /** Thread count and why; how many jobs ran split across the threads and how many on the calling thread alone. */
  threads: { count: number; reason: string; splitting: "adaptive" | "always" | "none"; jobs: { split: number; alone: number } };
  /** Peak wasm linear memory so far. */
  wasmMemoryBytes: number;
  hasChatTemplate: boolean;
  metadata: Record<string, unknown>;
}

const DEFAULT_MAX_CONTEXT = 4096;

/** The default thread count: logical cores, capped by a visible CPU quota and by 4; with the reason for it. */
function defaultThreads(): { count: number; reason: string } {
  const cores = platform.cpuCount();
  const quota = platform.cpuQuota();
  const count = Math.max(1, Math.min(cores, quota === undefined ? cores : Math.floor(quota), 4));
  const why = `min(${cores} logical core${cores === 1 ? "" : "s"}${quota === undefined ? "" : `, CPU quota ${+quota.toFixed(2)}`}, 4)`;
  return { count, reason: count === 1 ? `one thread: the default, ${why}` : `${count} threads: the default, ${why}` };
}

/** Whether `requested` threads can run here: shared wasm memory, workers, and (in browsers) isolation. */
function threadPlan(requested: number, oneReason: string, modules: KernelModules | undefined): { shared: boolean; reason: string } {
  if (requested === 1) return { shared: false, reason: oneReason };
  const support = platform.threadSupport();
  if (!support.ok) return { shared: false, reason: support.reason };
  if (!detectFeatures(modules).sharedMemory) return { shared: false, reason: modules ? "wasmModules has no threads build" : "this engine has no WebAssembly threads (shared memory)" };
  return { shared: true, reason: `${requested} threads` };
}

export type FdbKernel = "auto" | "lut" | "lut-exact" | "popcount";
const FDB_KERNELS: Record<FdbKernel, RuntimeFormat> = { auto: FDB_LUT, lut: FDB_LUT, "lut-exact": FDB_LUT_EXACT, popcount: FDB_POP };

export class Model {
  private core: ModelCore;
  private defaultSession: Session | undefined;
  private disposed = false;

  private constructor(core: ModelCore, private readonly infoBase: Omit<ModelInfo, "wasmMemoryBytes">) {
    this.core = core;
  }

  static async load(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
    throwIfAborted(options.signal);
    if (options.contextLength !== undefined && (!Number.isSafeInteger(options.contextLength) || options.contextLength < 1)) {
      throw invalidArgument(`contextLength must be a positive integer, got ${options.contextLength}`);
    }
    const batch = options.batchSize ?? 64;
    if (!Number.isSafeInteger(batch) || batch < 1 || batch > 4096) throw invalidArgument(`batchSize must be an integer in [1, 4096]`);
    const dflt = defaultThreads();
    const requested = options.threads ?? dflt.count;
    if (!Number.isSafeInteger(requested) || requested < 1 || requested > 64) throw invalidArgument(`threads must be an integer in [1, 64], got ${options.threads}`);
    const splitting = options.threadSplitting ?? "adaptive";
    if (splitting !== "adaptive" && splitting !== "always") throw invalidArgument(`threadSplitting must be 'adaptive' or 'always', got ${String(splitting)}`);
    const oneReason = options.threads === 1 ? "threads: 1 requested" : dflt.reason;
    const manyReason = options.threads === undefined ? dflt.reason : `${requested} threads requested`;
    const modules = checkKernelModules(options.wasmModules);
    const threading = threadPlan(requested, oneReason, modules);
    // The kernels before the model: a runtime that cannot run them refuses before any byte is downloaded.
    const kernels = await loadKernels({ simd: options.simd, shared: threading.shared, modules });
    throwIfAborted(options.signal);
    const opened = await openModel(source, { signal: options.signal, fetch: options.fetch, cache: options.cache });
    let exec: Executor | undefined;
    try {
      const kernel = options.kernel ?? "auto";
      if (typeof kernel !== "string" || !Object.hasOwn(FDB_KERNELS, kernel)) throw invalidArgument(`kernel must be one of ${Object.keys(FDB_KERNELS).join(", ")}`);
      const fdbFormat = FDB_KERNELS[kernel];
      const contextLength = options.contextLength ?? Math.min(opened.config.contextLength, DEFAULT_MAX_CONTEXT);
      // Shared memories declare their maximum up front; in browsers ask for what this model needs (weights,
      // two default-sized sessions, scratch) rather than 4 GiB of address space. Node reserves 4 GiB cheaply.
      const kvBytes = opened.config.nLayers * 2 * opened.config.nKvHeads * opened.config.headDim * 4 * contextLength;
      const maxBytes = platform.name === "web" ? weightBytes(opened, fdbFormat) + 2 * kvBytes + (256 << 20) : undefined;
      const engine = await Engine.create({ kernels, maxBytes });
      const placed = await placeWeights(engine, opened, { onProgress: options.onProgress, signal: options.signal, fdbFormat });
      const config = opened.config;
      exec = threading.shared
        ? await Pool.create(engine, requested, manyReason, splitting === "adaptive").catch((e: Error) => new SingleThread(engine, `worker pool failed to start: ${e.message}`))
        : new SingleThread(engine, threading.reason);
      const forward = new Forward(engine, config, placed.weights, ropeInvFreq(config, placed.ropeFreqs), exec, batch);
      const tokenizer = opened.tokenizer;
      const core: ModelCore = {
        engine, config, tokenizer, forward, contextLength,
        samplingDefaults: opened.samplingDefaults,
        encodeChat: chatEncoder(tokenizer),
      };
      const kvDim = config.nKvHeads * config.headDim;
      const parameters = [...opened.tensors.values()].reduce((a, t) => a + t.info.shape.reduce((x, y) => x * y, 1), 0);
      return new Model(core, {
        name: opened.name,
        format: opened.format,
        architecture: config.architecture,
        config,
        parameters,
        weightBytes: placed.bytes,
        kvBytesPerToken: config.nLayers * 2 * kvDim * 4,
        contextLength,
        kernels: { build: engine.build, relaxedSimd: engine.relaxedSimd, fdb: fdbFormat.name },
        threads: { count: exec.threads, reason: exec.reason, splitting: exec.threads > 1 ? splitting : "none", jobs: { split: 0, alone: 0 } },
        hasChatTemplate: !!tokenizer.chatTemplate,
        metadata: opened.metadata,
      });
    } catch (e) {
      exec?.dispose();
      throw e;
    } finally {
      await Promise.all(opened.files.map((f) => f.close()));
    }
  }

  get tokenizer(): Tokenizer { return this.core.tokenizer; }
  get config(): ModelConfig { return this.core.config; }

  info(): ModelInfo {
    const jobs = this.core.forward.exec.jobs();
    return { ...this.infoBase, threads: { ...this.infoBase.threads, jobs }, wasmMemoryBytes: this.core.engine.memory.buffer.byteLength };
  }

  /** A new conversation with its own KV cache. */
  createSession(options: SessionOptions = {}): Session {
    this.check();
    return new Session(this.core, options);
  }

  /**
   * Generates a continuation of a prompt (string, or token ids) on the model's default session, whose cache
   * is reused when the next prompt starts with the same tokens. Calls run one after another.
   */
  generate(prompt: string | readonly number[], options: GenerateOptions = {}): GenerationStream {
    return this.session().generate(prompt, options);
  }

  /** Chat with the model's own template on the default session. */
  chat(messages: ChatMessage[], options: ChatOptions = {}): GenerationStream {
    return this.session().chat(messages, options);
  }

  /** Frees the default session and stops the worker pool; the weights live as long as the Model object. */
  dispose(): void {
    this.defaultSession?.dispose();
    this.defaultSession = undefined;
    this.core.forward.exec.dispose();
    this.disposed = true;
  }

  private session(): Session {
    this.check();
    this.defaultSession ??= new Session(this.core, {});
    return this.defaultSession;
  }

  private check(): void {
    if (this.disposed) throw new DbllmError("DISPOSED", "this model was disposed");
  }
}

export type { SamplingOptions };
