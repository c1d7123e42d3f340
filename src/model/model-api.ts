// What a loaded model and its sessions offer, wherever they compute: on the calling thread (Model and Session in
// this folder) or in a dedicated Web Worker (src/worker/, what loadModel gives a page's main thread by default).
// The public API names these interfaces Model and Session; code that takes a model takes them, so it works with
// both.
import type { ModelConfig } from "../config/model-config.ts";
import type { ContextFullPolicy, GenerateOptions } from "../generate/options.ts";
import type { GenerationStream } from "../generate/stream.ts";
import type { ChatMessage, Tokenizer } from "../tokenizer/index.ts";
import type { ModelInfo } from "./model.ts";
import type { ChatOptions, SessionOptions } from "./session.ts";

export interface ModelApi {
  readonly tokenizer: Tokenizer;
  readonly config: ModelConfig;
  /** Shapes, kernels, threads, memory, and where the model computes (`runsIn`). */
  info(): ModelInfo;
  /** A new conversation with its own KV cache. */
  createSession(options?: SessionOptions): SessionApi;
  /**
   * Generates a continuation of a prompt (string, or token ids) on the model's default session, whose cache
   * is reused when the next prompt starts with the same tokens. Calls run one after another.
   */
  generate(prompt: string | readonly number[], options?: GenerateOptions): GenerationStream;
  /** Chat with the model's own template on the default session. */
  chat(messages: ChatMessage[], options?: ChatOptions): GenerationStream;
  /** Frees the default session and stops the threads (and the model's worker, where it has one). */
  dispose(): void;
}

export interface SessionApi {
  /** Tokens currently in the context. */
  readonly tokens: readonly number[];
  readonly length: number;
  /** Positions this session can hold. */
  readonly capacity: number;
  readonly onContextFull: ContextFullPolicy;
  /**
   * Appends `ids` to the context and returns the logits of every one of them: a Float32Array of
   * ids.length × vocabSize, row i predicting the token after ids[i].
   */
  evaluate(ids: readonly number[]): Promise<Float32Array>;
  /** Forgets the context (the cache memory is kept for reuse). */
  reset(): void;
  generate(prompt: string | readonly number[], options?: GenerateOptions): GenerationStream;
  chat(messages: ChatMessage[], options?: ChatOptions): GenerationStream;
  /** Releases the KV cache; the session cannot be used afterwards. */
  dispose(): void;
}
