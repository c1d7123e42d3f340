// Which tensors a LLaMA-family model needs, under their canonical (GGUF) names, with the shape each must have
// (formats/hf-names.ts maps Hugging Face names onto them).
import type { Linear } from "../quant/runtime.ts";
import type { ModelConfig } from "../config/model-config.ts";

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
