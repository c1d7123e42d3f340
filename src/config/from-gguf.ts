// The model configuration from GGUF metadata (llama.cpp's keys, prefixed by the architecture).
import { DbllmError } from "../errors.ts";
import { SUPPORTED, validateConfig, type ModelConfig, type RopeScaling } from "./model-config.ts";

/** Typed reads of GGUF metadata with clear errors (formats/gguf.ts GGUFMeta is one). */
export interface GGUFMetadata {
  readonly name: string;
  num(key: string, fallback?: number): number;
  str(key: string): string | undefined;
  arr(key: string): ArrayLike<unknown> | undefined;
}

export function configFromGGUF(meta: GGUFMetadata, tensorNames: Set<string>, vocabSizeHint?: number): ModelConfig {
  const arch = meta.str("general.architecture");
  if (arch === undefined) throw new DbllmError("INVALID_CONFIG", `${meta.name}: general.architecture is missing`);
  if (arch !== "llama" && arch !== "qwen2" && arch !== "qwen3") {
    throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${meta.name}: architecture "${arch}" is not supported (supported: ${SUPPORTED})`);
  }
  const k = (s: string) => `${arch}.${s}`;
  const dim = meta.num(k("embedding_length"));
  const nHeads = meta.num(k("attention.head_count"));
  const headDim = meta.num(k("attention.key_length"), Math.floor(dim / nHeads));
  const tokens = meta.arr("tokenizer.ggml.tokens");
  const vocabSize = meta.num(k("vocab_size"), vocabSizeHint ?? (tokens ? tokens.length : 0));
  const scalingType = meta.str(k("rope.scaling.type")) ?? "none";
  let ropeScaling: RopeScaling;
  if (scalingType === "none") ropeScaling = { type: "none" };
  else if (scalingType === "linear") ropeScaling = { type: "linear", factor: meta.num(k("rope.scaling.factor"), 1) };
  // llama3-style scaling arrives as the rope_freqs tensor in GGUF; the loader applies it.
  else throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${meta.name}: rope scaling "${scalingType}" is not supported (none, linear; llama3 comes as the rope_freqs tensor)`);
  const config: ModelConfig = {
    architecture: arch,
    vocabSize,
    dim,
    nLayers: meta.num(k("block_count")),
    nHeads,
    nKvHeads: meta.num(k("attention.head_count_kv"), nHeads),
    headDim,
    ffnDim: meta.num(k("feed_forward_length")),
    normEps: meta.num(k("attention.layer_norm_rms_epsilon"), 1e-5),
    ropeTheta: meta.num(k("rope.freq_base"), 10000),
    ropeDim: meta.num(k("rope.dimension_count"), headDim),
    ropeLayout: arch === "llama" ? "interleaved" : "neox",
    ropeScaling,
    contextLength: meta.num(k("context_length"), 2048),
    slidingWindow: meta.num(k("attention.sliding_window"), 0),
    tiedEmbeddings: !tensorNames.has("output.weight"),
    qkNorm: arch === "qwen3",
  };
  return validateConfig(config, meta.name);
}
