// dbllm's whole public API. Everything else under src/ is internal and may change.
import type { LoadOptions } from "./model/load-options.ts";
import type { ModelApi } from "./model/model-api.ts";
import type { ModelSource } from "./open/types.ts";
import { loadModelPlaced } from "./worker/load.ts";

/**
 * Loads a model: a GGUF file, a Hugging Face directory (Node), a URL, an ArrayBuffer / typed array, a Blob, a
 * fetch Response or a ReadableStream of bytes.
 * Tensor data stream into wasm memory; `onProgress` reports bytes as they are read. On a page's main thread the
 * model lives in a dedicated Web Worker (same API; `worker: false` keeps it on the page), elsewhere on the
 * calling thread: `info().runsIn` says which.
 */
export function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  return loadModelPlaced(source, options);
}

/** A loaded model, on this thread or in a Web Worker. */
export type Model = ModelApi;
/** A conversation with its own KV cache (model.createSession()). */
export type { SessionApi as Session } from "./model/model-api.ts";
export type { LoadOptions } from "./model/load-options.ts";
export type { ModelInfo, Placement } from "./model/model.ts";
export type { ModelSource } from "./open/types.ts";
export type { SessionOptions, ChatOptions } from "./model/session.ts";
export type { ModelConfig } from "./config/model-config.ts";
export type { LoadProgress } from "./model/loader.ts";
export { GenerationStream } from "./generate/stream.ts";
export type {
  GenerateOptions, GenerationChunk, GenerationResult, GenerationStats, StopReason, ContextFullPolicy,
} from "./generate/options.ts";
export type { SamplingOptions } from "./generate/sampler.ts";
export { DbllmError } from "./errors.ts";
export type { DbllmErrorCode } from "./errors.ts";
export type { Tokenizer, ChatMessage } from "./tokenizer/index.ts";
export { detectFeatures } from "./engine/features.ts";
export { createHandler } from "./server/index.ts";
export type { HandlerOptions, HandlerStats, OpenAIHandler, ModelProvider, RequestLog } from "./server/index.ts";
export type { Features, KernelBuild, KernelModules } from "./engine/features.ts";
