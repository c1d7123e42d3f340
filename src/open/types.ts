// What opening a model yields, whatever its format: configuration, tokenizer, and where each canonical tensor lives.
import type { ByteSource } from "../bytes/source.ts";
import type { ModelConfig } from "../config/model-config.ts";
import type { TensorInfo } from "../formats/tensor-info.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import type { Tokenizer } from "../tokenizer/index.ts";

export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response | ReadableStream<Uint8Array>;

export interface TensorRef {
  info: TensorInfo;
  /** Index into OpenedModel.files. */
  file: number;
}

export interface OpenedModel {
  format: "gguf" | "hf" | "dbllm";
  name: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  tensors: Map<string, TensorRef>;
  /** Canonical names of the tensors whose type dbllm has no row for, with the type as the file names it. */
  unreadable: Map<string, string>;
  /** Open sources, one per file (tensors of a file are read in offset order). */
  files: ByteSource[];
  /** Descriptive metadata for model.info(). */
  metadata: Record<string, unknown>;
  /** Sampling defaults from generation_config.json. */
  samplingDefaults: Partial<SamplingOptions>;
}

export interface OpenOptions {
  signal?: AbortSignal;
  fetch?: typeof fetch;
  cache?: boolean | "cache-api" | "opfs";
}
