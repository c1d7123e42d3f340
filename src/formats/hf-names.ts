// Hugging Face tensor names (model.layers.N.self_attn.q_proj.weight …) and the canonical GGUF names dbllm uses
// everywhere else (blk.N.attn_q.weight …).
import { DbllmError } from "../errors.ts";

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
  throw new DbllmError("INVALID_ARGUMENT", `no Hugging Face name for ${name}`);
}
