// The public Model: loads from any source, owns the wasm engine and weights, hands out sessions, and offers
// generate()/chat() on a default session.
import { Engine, loadKernels } from "../engine/engine.ts";
import { SingleThread, type Executor } from "../engine/exec.ts";
import { Pool } from "../engine/pool.ts";
import { platform } from "#platform";
import { DbllmError, throwIfAborted } from "../errors.ts";
import type { GenerateOptions } from "../generate/options.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import type { GenerationStream } from "../generate/stream.ts";
import type { ChatMessage, Tokenizer } from "../tokenizer/index.ts";
import { FDB_KERNELS } from "../quant/runtime.ts";
import type { ModelConfig } from "../config/model-config.ts";
import { ropeInvFreq } from "../config/rope.ts";
import { Forward } from "./forward.ts";
import { checkLoadOptions, SMALL_MODEL_BYTES, smallModelReason, threadPlan, type LoadOptions } from "./load-options.ts";
import { placeWeights, weightBytes } from "./loader.ts";
import type { ModelApi } from "./model-api.ts";
import { chatEncoder, type ModelCore } from "./model-core.ts";
import { Session, type ChatOptions, type SessionOptions } from "./session.ts";
import { openModel } from "../open/open-model.ts";
import type { ModelSource } from "../open/types.ts";

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
  /**
   * Where the model computes: on the thread that loaded it, or in a dedicated Web Worker (the default on a page's
   * main thread, so that generation never blocks the page); and why there.
   */
  runsIn: Placement;
  /** Peak wasm linear memory so far. */
  wasmMemoryBytes: number;
  hasChatTemplate: boolean;
  metadata: Record<string, unknown>;
}

/** Where a model computes, and why there. */
export interface Placement {
  worker: boolean;
  reason: string;
}

const DEFAULT_MAX_CONTEXT = 4096;

/** The model on the calling thread: the engine, the weights and the thread pool live here. */
export class Model implements ModelApi {
  private core: ModelCore;
  private defaultSession: Session | undefined;
  private disposed = false;

  private constructor(core: ModelCore, private readonly infoBase: Omit<ModelInfo, "wasmMemoryBytes">) {
    this.core = core;
  }

  /** `runsIn` is what info() reports as the model's place (the caller decided it; see src/worker/placement.ts). */
  static async load(source: ModelSource, options: LoadOptions = {}, runsIn: Placement = { worker: false, reason: "the calling thread" }): Promise<Model> {
    throwIfAborted(options.signal);
    // Every option is checked before anything is read, downloaded or compiled.
    const { batch, threads: requested, splitting, kernel, modules, oneReason, manyReason, defaulted } = checkLoadOptions(options);
    const threading = threadPlan(requested, oneReason, modules);
    // The kernels before the model: a runtime that cannot run them refuses before any byte is downloaded.
    const kernels = await loadKernels({ simd: options.simd, shared: threading.shared, modules });
    throwIfAborted(options.signal);
    const opened = await openModel(source, { signal: options.signal, fetch: options.fetch, cache: options.cache });
    let exec: Executor | undefined;
    try {
      const contextLength = options.contextLength ?? Math.min(opened.config.contextLength, DEFAULT_MAX_CONTEXT);
      // Shared memories declare their maximum up front; in browsers ask for what this model needs (weights,
      // two default-sized sessions, scratch) rather than 4 GiB of address space. Node reserves 4 GiB cheaply.
      const kvBytes = opened.config.nLayers * 2 * opened.config.nKvHeads * opened.config.headDim * 4 * contextLength;
      const maxBytes = platform.name === "web" ? weightBytes(opened, kernel) + 2 * kvBytes + (256 << 20) : undefined;
      const engine = await Engine.create({ kernels, maxBytes });
      const placed = await placeWeights(engine, opened, { onProgress: options.onProgress, signal: options.signal, fdbKernel: kernel });
      const config = opened.config;
      exec = threading.shared && defaulted && placed.bytes < SMALL_MODEL_BYTES
        ? new SingleThread(engine, smallModelReason(placed.bytes))
        : threading.shared
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
        kernels: { build: engine.build, relaxedSimd: engine.relaxedSimd, fdb: FDB_KERNELS[kernel].name },
        threads: { count: exec.threads, reason: exec.reason, splitting: exec.threads > 1 ? splitting : "none", jobs: { split: 0, alone: 0 } },
        runsIn,
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
