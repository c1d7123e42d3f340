// The model's shape and hyper-parameters, read from GGUF metadata or a Hugging Face config.json, validated
// once here so that the forward pass can trust them.
import { DbllmError } from "../errors.ts";
import { GGUFMeta } from "../formats/gguf.ts";
import { isRecord } from "../formats/json.ts";

export type Architecture = "llama" | "qwen2" | "qwen3";

/** How RoPE pairs dimensions: (2i, 2i+1) as in GGUF llama files, or (i, i + rot/2) as in HF and GGUF qwen. */
export type RopeLayout = "interleaved" | "neox";

export type RopeScaling =
  | { type: "none" }
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  normEps: number;
  ropeTheta: number;
  /** Rotated dimensions per head (≤ headDim). */
  ropeDim: number;
  ropeLayout: RopeLayout;
  ropeScaling: RopeScaling;
  /** Context length the model was trained for. */
  contextLength: number;
  /** Sliding attention window (0 = full causal attention). */
  slidingWindow: number;
  tiedEmbeddings: boolean;
  /** Qwen3: RMSNorm over each q and k head before RoPE. */
  qkNorm: boolean;
}

const SUPPORTED = "llama, qwen2, qwen3 (HF: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)";

/** The architectures the forward pass runs (looked up as own properties: "__proto__" or "constructor" are no architecture). */
const ARCHITECTURES: Readonly<Record<Architecture, true>> = { llama: true, qwen2: true, qwen3: true };
const ROPE_LAYOUTS: Readonly<Record<RopeLayout, true>> = { interleaved: true, neox: true };

const isFinitePositive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

/** The largest size any dimension may have; the loader then checks every size against the tensors in the file. */
const MAX_SIZE = 1 << 24;

/** Checks a scaling description against what ropeInvFreq can compute (finite, positive, non-degenerate). */
function validateRopeScaling(s: unknown, origin: string): void {
  const bad = (why: string): never => { throw new DbllmError("INVALID_CONFIG", `${origin}: rope scaling ${why}`); };
  if (!isRecord(s)) bad(`is ${JSON.stringify(s)}, not an object`);
  const r = s as Record<string, unknown>;
  if (r.type === "none") return;
  if (r.type !== "linear" && r.type !== "llama3") throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: rope scaling ${JSON.stringify(r.type)} is not supported (none, linear, llama3)`);
  if (!isFinitePositive(r.factor)) bad(`factor ${String(r.factor)} is not a finite positive number`);
  if (r.type === "linear") return;
  if (!isFinitePositive(r.lowFreqFactor)) bad(`low frequency factor ${String(r.lowFreqFactor)} is not a finite positive number`);
  if (!(isFinitePositive(r.highFreqFactor) && r.highFreqFactor > (r.lowFreqFactor as number))) {
    bad(`high frequency factor ${String(r.highFreqFactor)} must be finite and larger than the low one (${String(r.lowFreqFactor)})`);
  }
  const n = r.originalContext;
  if (!Number.isSafeInteger(n) || (n as number) < 1) bad(`original context ${String(n)} is not a positive integer`);
}

/** Checks every field against the ranges the forward pass supports; returns `c` unchanged. */
export function validateConfig(c: ModelConfig, origin: string): ModelConfig {
  if (typeof c.architecture !== "string") throw new DbllmError("INVALID_CONFIG", `${origin}: architecture ${JSON.stringify(c.architecture)} is not a name`);
  if (!Object.hasOwn(ARCHITECTURES, c.architecture)) {
    throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: architecture ${JSON.stringify(c.architecture)} is not supported (supported: ${SUPPORTED})`);
  }
  const ints: (keyof ModelConfig)[] = ["vocabSize", "dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim", "ropeDim", "contextLength"];
  for (const k of ints) {
    const v = c[k] as number;
    if (!Number.isSafeInteger(v) || v <= 0 || v > MAX_SIZE) throw new DbllmError("INVALID_CONFIG", `${origin}: ${k} = ${String(v)} is not a valid size (1..${MAX_SIZE})`);
  }
  if (c.nHeads % c.nKvHeads !== 0) throw new DbllmError("INVALID_CONFIG", `${origin}: ${c.nHeads} attention heads are not a multiple of ${c.nKvHeads} kv heads`);
  if (c.ropeDim > c.headDim || c.ropeDim % 2) throw new DbllmError("INVALID_CONFIG", `${origin}: rope dimension ${c.ropeDim} does not fit head size ${c.headDim}`);
  if (!(isFinitePositive(c.normEps) && c.normEps < 1)) throw new DbllmError("INVALID_CONFIG", `${origin}: norm epsilon ${String(c.normEps)} is not in (0, 1)`);
  if (!isFinitePositive(c.ropeTheta)) throw new DbllmError("INVALID_CONFIG", `${origin}: rope theta ${String(c.ropeTheta)} is not a finite positive number`);
  if (!Number.isSafeInteger(c.slidingWindow) || c.slidingWindow < 0) throw new DbllmError("INVALID_CONFIG", `${origin}: sliding window ${String(c.slidingWindow)} is invalid`);
  if (typeof c.ropeLayout !== "string" || !Object.hasOwn(ROPE_LAYOUTS, c.ropeLayout)) {
    throw new DbllmError("INVALID_CONFIG", `${origin}: rope layout ${JSON.stringify(c.ropeLayout)} is not one of ${Object.keys(ROPE_LAYOUTS).join(", ")}`);
  }
  for (const k of ["tiedEmbeddings", "qkNorm"] as const) {
    if (typeof c[k] !== "boolean") throw new DbllmError("INVALID_CONFIG", `${origin}: ${k} = ${JSON.stringify(c[k])} is not true or false`);
  }
  validateRopeScaling(c.ropeScaling, origin);
  return c;
}

/** A configuration stored as JSON (the .dbllm header): every field typed and ranged, unknown fields dropped. */
export function configFromJSON(v: unknown, origin: string): ModelConfig {
  if (!isRecord(v)) throw new DbllmError("INVALID_CONFIG", `${origin}: the configuration is ${JSON.stringify(v)}, not a JSON object`);
  const fields: (keyof ModelConfig)[] = ["architecture", "vocabSize", "dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim",
    "normEps", "ropeTheta", "ropeDim", "ropeLayout", "ropeScaling", "contextLength", "slidingWindow", "tiedEmbeddings", "qkNorm"];
  const config: Record<string, unknown> = {};
  for (const k of fields) config[k] = Object.hasOwn(v, k) ? v[k] : undefined;
  const s = config.ropeScaling;
  if (isRecord(s)) { // the same copy for the scaling, so a stored object cannot carry extra fields into the model
    const keys = ["type", "factor", "lowFreqFactor", "highFreqFactor", "originalContext"].filter((k) => Object.hasOwn(s, k));
    config.ropeScaling = Object.fromEntries(keys.map((k) => [k, s[k]]));
  }
  return validateConfig(config as unknown as ModelConfig, origin);
}

export function configFromGGUF(meta: GGUFMeta, tensorNames: Set<string>, vocabSizeHint?: number): ModelConfig {
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

type HFConfig = Record<string, unknown>;

const HF_ARCHS: Record<string, Architecture> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
};

export function configFromHF(cfg: HFConfig, origin: string): ModelConfig {
  const archs = Array.isArray(cfg.architectures) ? (cfg.architectures as unknown[]) : [];
  const hfArch = archs.find((a): a is string => typeof a === "string" && Object.hasOwn(HF_ARCHS, a));
  if (!hfArch) {
    throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: architectures ${JSON.stringify(archs)} are not supported (supported: ${SUPPORTED})`);
  }
  const arch = HF_ARCHS[hfArch];
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new DbllmError("INVALID_CONFIG", `${origin}: ${key} is missing`);
    }
    if (typeof v !== "number") throw new DbllmError("INVALID_CONFIG", `${origin}: ${key} is not a number`);
    return v;
  };
  if (cfg.mlp_bias === true) throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: mlp_bias is not supported`);
  const dim = num("hidden_size");
  const nHeads = num("num_attention_heads");
  const headDim = num("head_dim", Math.floor(dim / nHeads));
  const rs = cfg.rope_scaling;
  let ropeScaling: RopeScaling = { type: "none" };
  if (rs !== undefined && rs !== null) {
    if (!isRecord(rs)) throw new DbllmError("INVALID_CONFIG", `${origin}: rope_scaling is not an object`);
    const t = (rs.rope_type ?? rs.type) as string;
    const f = (key: string, d?: number) => {
      const v = rs[key];
      if (typeof v === "number") return v;
      if (d !== undefined) return d;
      throw new DbllmError("INVALID_CONFIG", `${origin}: rope_scaling.${key} is missing`);
    };
    if (t === "linear") ropeScaling = { type: "linear", factor: f("factor") };
    else if (t === "llama3") {
      ropeScaling = { type: "llama3", factor: f("factor"), lowFreqFactor: f("low_freq_factor", 1), highFreqFactor: f("high_freq_factor", 4), originalContext: f("original_max_position_embeddings", 8192) };
    } else if (t !== "default") throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: rope scaling "${t}" is not supported (linear, llama3)`);
  }
  const partial = typeof cfg.partial_rotary_factor === "number" ? cfg.partial_rotary_factor : 1;
  // Qwen2/3 configs carry sliding_window even when use_sliding_window is false; Mistral uses sliding_window alone.
  const window = arch === "llama" ? num("sliding_window", 0) : cfg.use_sliding_window === true ? num("sliding_window", 0) : 0;
  const config: ModelConfig = {
    architecture: arch,
    vocabSize: num("vocab_size"),
    dim,
    nLayers: num("num_hidden_layers"),
    nHeads,
    nKvHeads: num("num_key_value_heads", nHeads),
    headDim,
    ffnDim: num("intermediate_size"),
    normEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    ropeDim: Math.round(headDim * partial),
    ropeLayout: "neox",
    ropeScaling,
    contextLength: num("max_position_embeddings", 2048),
    slidingWindow: window,
    tiedEmbeddings: cfg.tie_word_embeddings === true,
    qkNorm: arch === "qwen3",
  };
  return validateConfig(config, origin);
}

/**
 * Inverse frequencies of the rotary embedding: theta^(-2i/rot), adjusted by linear or llama3-style scaling, or
 * divided by per-pair factors (GGUF's rope_freqs tensor).
 */
export function ropeInvFreq(c: ModelConfig, freqFactors?: Float32Array): Float64Array {
  const half = c.ropeDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.pow(c.ropeTheta, -(2 * i) / c.ropeDim);
  const s = c.ropeScaling;
  if (s.type === "linear") for (let i = 0; i < half; i++) inv[i] /= s.factor;
  if (s.type === "llama3") {
    const lowWavelen = s.originalContext / s.lowFreqFactor, highWavelen = s.originalContext / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  if (freqFactors) {
    if (freqFactors.length !== half) throw new DbllmError("TENSOR_SHAPE", `rope_freqs has ${freqFactors.length} factors, expected ${half}`);
    for (let i = 0; i < half; i++) {
      if (!isFinitePositive(freqFactors[i])) throw new DbllmError("INVALID_FILE", `rope_freqs factor ${i} is ${freqFactors[i]}, not a finite positive number`);
      inv[i] /= freqFactors[i];
    }
  }
  return inv;
}
