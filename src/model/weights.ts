// Which tensors a LLaMA-family model needs, under their canonical (GGUF) names, with the shape each must have;
// and how Hugging Face names map onto them.
import type { Linear } from "../quant/runtime.ts";
import type { ModelConfig } from "./config.ts";

export interface LayerWeights {
  attnNorm: number;   // (dim) f32
  wq: Linear;         // (heads·headDim, dim)
  wk: Linear;         // (kvHeads·headDim, dim)
  wv: Linear;         // (kvHeads·headDim, dim)
  wo: Linear;         // (dim, heads·headDim)
  qNorm: number;      // (headDim) f32, 0 when the model has no q/k norms
  kNorm: number;      // (headDim) f32
  ffnNorm: number;    // (dim) f32
  wGate: Linear;      // (ffn, dim)
  wUp: Linear;        // (ffn, dim)
  wDown: Linear;      // (dim, ffn)
}

export interface Weights {
  embed: Linear;      // (vocab, dim)
  layers: LayerWeights[];
  outNorm: number;    // (dim) f32
  head: Linear;       // (vocab, dim); the same object as `embed` when tied
}

export type TensorRole = "linear" | "vector" | "embed" | "bias";

export interface TensorSpec {
  name: string;
  shape: number[];
  role: TensorRole;
  optional: boolean;
}

/**
 * The tensors of a model with configuration `c`, in file order. A generator: the loader stops at the first
 * missing tensor, so a header claiming 2^24 layers costs as much as the tensors the file really has.
 */
export function* weightSpecs(c: ModelConfig): Generator<TensorSpec> {
  const q = c.nHeads * c.headDim, kv = c.nKvHeads * c.headDim;
  yield { name: "token_embd.weight", shape: [c.vocabSize, c.dim], role: "embed", optional: false };
  for (let i = 0; i < c.nLayers; i++) {
    const b = `blk.${i}.`;
    yield* [
      { name: b + "attn_norm.weight", shape: [c.dim], role: "vector", optional: false },
      { name: b + "attn_q.weight", shape: [q, c.dim], role: "linear", optional: false },
      { name: b + "attn_k.weight", shape: [kv, c.dim], role: "linear", optional: false },
      { name: b + "attn_v.weight", shape: [kv, c.dim], role: "linear", optional: false },
      { name: b + "attn_output.weight", shape: [c.dim, q], role: "linear", optional: false },
      { name: b + "attn_q.bias", shape: [q], role: "bias", optional: true },
      { name: b + "attn_k.bias", shape: [kv], role: "bias", optional: true },
      { name: b + "attn_v.bias", shape: [kv], role: "bias", optional: true },
      { name: b + "attn_output.bias", shape: [c.dim], role: "bias", optional: true },
      { name: b + "ffn_norm.weight", shape: [c.dim], role: "vector", optional: false },
      { name: b + "ffn_gate.weight", shape: [c.ffnDim, c.dim], role: "linear", optional: false },
      { name: b + "ffn_up.weight", shape: [c.ffnDim, c.dim], role: "linear", optional: false },
      { name: b + "ffn_down.weight", shape: [c.dim, c.ffnDim], role: "linear", optional: false },
    ] satisfies TensorSpec[];
    if (c.qkNorm) {
      yield* [
        { name: b + "attn_q_norm.weight", shape: [c.headDim], role: "vector", optional: false },
        { name: b + "attn_k_norm.weight", shape: [c.headDim], role: "vector", optional: false },
      ] satisfies TensorSpec[];
    }
  }
  yield { name: "output_norm.weight", shape: [c.dim], role: "vector", optional: false };
  if (!c.tiedEmbeddings) yield { name: "output.weight", shape: [c.vocabSize, c.dim], role: "linear", optional: false };
  yield { name: "rope_freqs.weight", shape: [c.ropeDim / 2], role: "vector", optional: true };
}

const HF_LAYER: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.o_proj.bias": "attn_output.bias",
  "self_attn.q_norm.weight": "attn_q_norm.weight",
  "self_attn.k_norm.weight": "attn_k_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};

/** Canonical name of a Hugging Face tensor, or undefined for tensors the runtime does not use. */
export function canonicalFromHF(name: string): string | undefined {
  if (name === "model.embed_tokens.weight") return "token_embd.weight";
  if (name === "model.norm.weight") return "output_norm.weight";
  if (name === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (m && Object.hasOwn(HF_LAYER, m[2])) return `blk.${m[1]}.${HF_LAYER[m[2]]}`; // own keys: not "constructor"
  return undefined;
}

/** Inverse of canonicalFromHF (for writers that produce HF-style files). */
export function hfFromCanonical(name: string): string {
  if (name === "token_embd.weight") return "model.embed_tokens.weight";
  if (name === "output_norm.weight") return "model.norm.weight";
  if (name === "output.weight") return "lm_head.weight";
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const hf = Object.entries(HF_LAYER).find(([, v]) => v === m[2]);
    if (hf) return `model.layers.${m[1]}.${hf[0]}`;
  }
  throw new Error(`no Hugging Face name for ${name}`);
}
