// A conversation's state: the tokens whose keys/values sit in this session's own KV cache. New prompts reuse
// the longest common prefix with what is cached (multi-turn chat recomputes only the new turn).
import { DbllmError, invalidArgument, throwIfAborted } from "../errors.ts";
import { yieldToEventLoop } from "../generate/yield.ts";
import { runGeneration, type DecodeTarget } from "../generate/generate.ts";
import { resolveOptions, type ContextFullPolicy, type GenerateOptions } from "../generate/options.ts";
import { GenerationStream } from "../generate/stream.ts";
import { checkTokenIds, type ChatMessage } from "../tokenizer/index.ts";
import type { ModelCore } from "./model-core.ts";
import { KVCache } from "./kv-cache.ts";
import type { SessionApi } from "./model-api.ts";

export interface SessionOptions {
  /** Positions this session can hold (default: the model's contextLength). */
  contextLength?: number;
  /** What generation does when the context is full (default 'stop'); see GenerateOptions.onContextFull. */
  onContextFull?: ContextFullPolicy;
}

export interface ChatOptions extends GenerateOptions {
  /** Extra variables for the chat template (e.g. tools, enable_thinking). */
  templateVariables?: Record<string, unknown>;
}

export class Session implements DecodeTarget, SessionApi {
  private cache: KVCache | undefined;
  private held: number[] = [];
  private busy: Promise<void> = Promise.resolve();
  readonly capacity: number;
  readonly onContextFull: ContextFullPolicy;

  constructor(private readonly core: ModelCore, options: SessionOptions = {}) {
    const n = options.contextLength ?? core.contextLength;
    if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument(`contextLength must be a positive integer, got ${n}`);
    this.capacity = n;
    this.onContextFull = options.onContextFull ?? "stop";
    this.cache = new KVCache(core.engine, core.config, n);
  }

  /** Tokens currently in the context. */
  get tokens(): readonly number[] { return this.held; }
  get length(): number { return this.held.length; }

  /**
   * Appends `ids` to the context and returns the logits of every one of them: a Float32Array of
   * ids.length × vocabSize, row i predicting the token after ids[i].
   */
  async evaluate(ids: readonly number[]): Promise<Float32Array> {
    return this.exclusive(async () => {
      if (ids.length === 0) throw new DbllmError("EMPTY_PROMPT", "evaluate() needs at least one token");
      checkTokenIds(ids, this.core.config.vocabSize);
      if (this.held.length + ids.length > this.capacity) {
        throw new DbllmError("CONTEXT_OVERFLOW", `${this.held.length} + ${ids.length} tokens exceed the context of ${this.capacity}`);
      }
      return (await this.forwardInBatches(ids, "all"))!;
    });
  }

  /** Forgets the context (the cache memory is kept for reuse). */
  reset(): void { this.held = []; }

  /** Generates a continuation of `prompt` (text, or token ids) in this session. */
  generate(prompt: string | readonly number[], options: GenerateOptions = {}): GenerationStream {
    const resolved = resolveOptions(options, this.core.samplingDefaults, this.onContextFull);
    return new GenerationStream(() => this.locked(() => {
      if (prompt === "") throw new DbllmError("EMPTY_PROMPT", "the prompt is empty");
      const ids = typeof prompt === "string"
        ? this.core.tokenizer.encode(prompt, { addSpecialTokens: options.addSpecialTokens ?? true, parseSpecialTokens: options.parseSpecialTokens ?? false })
        : prompt;
      return runGeneration(this, this.core.tokenizer, ids, resolved);
    }));
  }

  /** Applies the model's chat template to `messages` and generates the assistant's reply. */
  chat(messages: ChatMessage[], options: ChatOptions = {}): GenerationStream {
    const resolved = resolveOptions(options, this.core.samplingDefaults, this.onContextFull);
    return new GenerationStream(() => this.locked(() => {
      const ids = this.core.encodeChat(messages, options.templateVariables, options.parseSpecialTokens ?? false);
      return runGeneration(this, this.core.tokenizer, ids, resolved);
    }));
  }

  /** Releases the KV cache; the session cannot be used afterwards. */
  dispose(): void {
    this.cache?.dispose();
    this.cache = undefined;
    this.held = [];
  }

  // ---- DecodeTarget (used by the generation loop while it holds the lock) ----

  async prefill(ids: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; cached: number }> {
    let common = 0;
    while (common < ids.length && common < this.held.length && ids[common] === this.held[common]) common++;
    if (common === ids.length) common--; // the last prompt token must run to produce logits
    this.held.length = common;
    const logits = (await this.forwardInBatches(ids.slice(common), "last", signal))!;
    return { logits, cached: common };
  }

  step(token: number): Float32Array {
    return this.forward([token], "last")!;
  }

  slide(): void {
    const keep = Math.floor(this.capacity / 2);
    const first = this.held[0];
    const tail = this.held.slice(this.held.length - keep + 1);
    this.held = [];
    this.forward([first, ...tail], "none");
  }

  // ---- internals ----

  /**
   * A long input runs batch by batch, returning to the event loop in between: a server keeps answering and
   * an abort takes effect within one batch rather than after the whole prompt.
   */
  private async forwardInBatches(ids: readonly number[], wanted: "all" | "last" | "none", signal?: AbortSignal): Promise<Float32Array | undefined> {
    const B = this.core.forward.maxBatch;
    if (ids.length <= B) return this.forward(ids, wanted);
    const V = this.core.config.vocabSize;
    const all = wanted === "all" ? new Float32Array(ids.length * V) : undefined;
    let last: Float32Array | undefined;
    for (let s = 0; s < ids.length; s += B) {
      if (s > 0) { await yieldToEventLoop(); throwIfAborted(signal); }
      const chunk = ids.slice(s, s + B), final = s + B >= ids.length;
      const out = this.forward(chunk, wanted === "all" ? "all" : final ? wanted : "none");
      if (all) all.set(out!, s * V);
      else if (final) last = out;
    }
    return all ?? last;
  }

  private forward(ids: readonly number[], wanted: "all" | "last" | "none"): Float32Array | undefined {
    if (!this.cache) throw new DbllmError("DISPOSED", "this session was disposed");
    const pos0 = this.held.length;
    const out = this.core.forward.run(this.cache, ids, pos0, wanted);
    const bad = out ? firstNonFinite(out) : -1;
    if (bad >= 0) {
      // NaN logits would make greedy decoding emit token 0 forever and sampling fail obscurely
      throw new DbllmError("NON_FINITE", `the forward pass produced a ${out![bad]} logit (token ${bad % this.core.config.vocabSize}); the weights are damaged or overflow float32`);
    }
    this.held.push(...ids);
    return out;
  }

  /** Runs `fn` after every earlier operation on this session has finished. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.busy;
    let release!: () => void;
    this.busy = new Promise((r) => (release = r));
    await prev;
    try { return await fn(); } finally { release(); }
  }

  /** Wraps a generator so that it holds this session's lock from its first step to its end. */
  private async *locked<T, R>(make: () => AsyncGenerator<T, R>): AsyncGenerator<T, R> {
    const prev = this.busy;
    let release!: () => void;
    this.busy = new Promise((r) => (release = r));
    await prev;
    try {
      if (!this.cache) throw new DbllmError("DISPOSED", "this session was disposed");
      return yield* make();
    } finally {
      release();
    }
  }
}

/** Index of the first NaN or ±Inf in `a`, or -1. */
function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return i;
  return -1;
}
