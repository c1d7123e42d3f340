// dbllm's whole public API. Everything else under src/ is internal and may change.
import type { LoadOptions } from "./model/load-options.ts";
import { Model } from "./model/model.ts";
import type { ModelSource } from "./open/types.ts";

/**
 * Loads a model: a GGUF file, a Hugging Face directory (Node), a URL, an ArrayBuffer / typed array, a Blob, a
 * fetch Response or a ReadableStream of bytes.
 * Tensor data stream into wasm memory; `onProgress` reports bytes as they are read.
 */
export function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  return Model.load(source, options);
}

export { Model } from "./model/model.ts";
export type { LoadOptions } from "./model/load-options.ts";
export type { ModelInfo } from "./model/model.ts";
export type { ModelSource } from "./open/types.ts";
export { Session } from "./model/session.ts";
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
