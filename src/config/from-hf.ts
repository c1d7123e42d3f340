// The model configuration from a Hugging Face config.json.
import { DbllmError } from "../errors.ts";
import { isRecord } from "../json.ts";
import { SUPPORTED, validateConfig, type Architecture, type ModelConfig, type RopeScaling } from "./model-config.ts";

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
