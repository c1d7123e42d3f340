// Writes tests/fixtures/config-parity.json: Hugging Face config.json files and GGUF metadata, and what src/config/
// makes of them — the ModelConfig and its rotary frequencies (ropeInvFreq), or the error code it refuses them
// with — plus the constants both readers must share. The trainer (python/dbllm_train/config.py config_from_hf,
// config_from_gguf, rope_inv_freq; safetensors_io.py) must give the same answers: python/tests/test_config_parity.py
// checks it, tests/config-parity.test.ts checks that the file is what the TypeScript computes today.
// Run: node --import tsx scripts/make-config-vector.ts
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configFromGGUF } from "../src/config/from-gguf.ts";
import { configFromHF } from "../src/config/from-hf.ts";
import type { ModelConfig } from "../src/config/model-config.ts";
import { ropeInvFreq } from "../src/config/rope.ts";
import { DbllmError } from "../src/errors.ts";
import { GGUFMeta } from "../src/formats/gguf.ts";
import { MAX_HEADER } from "../src/formats/safetensors.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CONFIG_FIXTURE = path.join(ROOT, "tests/fixtures/config-parity.json");

type Json = Record<string, unknown>;

/** A case's outcome: the configuration and its inverse rotary frequencies, or the code of the refusal. */
export type Outcome = { config: ModelConfig; invFreq: number[] } | { error: string };

export interface HFCase { name: string; config: Json; expect: Outcome }
export interface GGUFCase { name: string; metadata: Json; tensors: string[]; freqFactors: number[] | null; expect: Outcome }

const LLAMA: Json = {
  architectures: ["LlamaForCausalLM"], hidden_size: 256, intermediate_size: 688, num_attention_heads: 8, num_key_value_heads: 4,
  num_hidden_layers: 2, vocab_size: 512, rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 4096,
};
const QWEN2: Json = { ...LLAMA, architectures: ["Qwen2ForCausalLM"], rope_theta: 1000000, sliding_window: 4096, use_sliding_window: false };

const HF_CASES: [string, Json][] = [
  ["llama, defaults for what is missing", { ...LLAMA, rms_norm_eps: undefined, rope_theta: undefined, max_position_embeddings: undefined, num_key_value_heads: undefined }],
  ["llama, tied embeddings", { ...LLAMA, tie_word_embeddings: true }],
  ["rope scaling linear", { ...LLAMA, rope_scaling: { type: "linear", factor: 4 } }],
  ["rope scaling llama3 (Llama 3.1)", { ...LLAMA, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }],
  ["rope scaling llama3, defaults, old `type` key", { ...LLAMA, rope_scaling: { type: "llama3", factor: 32 } }],
  ["rope scaling llama3, short original context", { ...LLAMA, rope_scaling: { rope_type: "llama3", factor: 2, low_freq_factor: 2, high_freq_factor: 8, original_max_position_embeddings: 256 } }],
  ["rope scaling default", { ...LLAMA, rope_scaling: { rope_type: "default" } }],
  ["rope scaling null", { ...LLAMA, rope_scaling: null }],
  ["partial rotary 0.5", { ...LLAMA, partial_rotary_factor: 0.5 }],
  ["partial rotary 0.4 of head 80", { ...LLAMA, hidden_size: 640, num_attention_heads: 8, partial_rotary_factor: 0.4 }],
  ["partial rotary not a number", { ...LLAMA, partial_rotary_factor: "half" }],
  ["Mistral: sliding window alone", { ...LLAMA, architectures: ["MistralForCausalLM"], sliding_window: 4096 }],
  ["Mistral: sliding window null", { ...LLAMA, architectures: ["MistralForCausalLM"], sliding_window: null }],
  ["Qwen2: sliding window present but off", QWEN2],
  ["Qwen2: sliding window on", { ...QWEN2, use_sliding_window: true, sliding_window: 2048 }],
  ["Qwen3: head_dim of its own, q/k norms", { ...LLAMA, architectures: ["Qwen3ForCausalLM"], head_dim: 64, tie_word_embeddings: true }],
  ["the first supported of several architectures", { ...LLAMA, architectures: ["Foo", "Qwen2ForCausalLM"] }],
  // refusals
  ["BertModel", { ...LLAMA, architectures: ["BertModel"] }],
  ["no architectures", { ...LLAMA, architectures: undefined }],
  ["architecture named constructor", { ...LLAMA, architectures: ["constructor"] }],
  ["rope scaling yarn", { ...LLAMA, rope_scaling: { rope_type: "yarn", factor: 4 } }],
  ["rope scaling without a type", { ...LLAMA, rope_scaling: {} }],
  ["rope scaling a string", { ...LLAMA, rope_scaling: "linear" }],
  ["rope scaling linear without factor", { ...LLAMA, rope_scaling: { type: "linear" } }],
  ["rope scaling linear factor -1", { ...LLAMA, rope_scaling: { type: "linear", factor: -1 } }],
  ["rope scaling linear factor 0", { ...LLAMA, rope_scaling: { type: "linear", factor: 0 } }],
  ["llama3 original context 0", { ...LLAMA, rope_scaling: { rope_type: "llama3", factor: 8, original_max_position_embeddings: 0 } }],
  ["llama3 high factor below low", { ...LLAMA, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 4, high_freq_factor: 1 } }],
  ["llama3 low factor 0", { ...LLAMA, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 0 } }],
  ["mlp_bias", { ...LLAMA, mlp_bias: true }],
  ["missing hidden_size", { ...LLAMA, hidden_size: undefined }],
  ["hidden_size a string", { ...LLAMA, hidden_size: "256" }],
  ["hidden_size true", { ...LLAMA, hidden_size: true }],
  ["vocab_size 0", { ...LLAMA, vocab_size: 0 }],
  ["vocab_size 1.5", { ...LLAMA, vocab_size: 1.5 }],
  ["heads not a multiple of kv heads", { ...LLAMA, num_key_value_heads: 3 }],
  ["partial rotary giving an odd rope dimension", { ...LLAMA, partial_rotary_factor: 0.28 }],
  ["partial rotary beyond the head", { ...LLAMA, partial_rotary_factor: 1.5 }],
  ["rms_norm_eps 0", { ...LLAMA, rms_norm_eps: 0 }],
  ["rms_norm_eps 1", { ...LLAMA, rms_norm_eps: 1 }],
  ["rope_theta 0", { ...LLAMA, rope_theta: 0 }],
  ["rope_theta negative", { ...LLAMA, rope_theta: -10000 }],
  ["sliding window -1", { ...LLAMA, architectures: ["MistralForCausalLM"], sliding_window: -1 }],
  ["sliding window 0.5", { ...LLAMA, architectures: ["MistralForCausalLM"], sliding_window: 0.5 }],
];

/** GGUF stores floats as f32: the fixture holds them as a file would, so both readers see the same values. */
const f32 = Math.fround;
const GGUF_LLAMA: Json = {
  "general.architecture": "llama", "llama.embedding_length": 256, "llama.feed_forward_length": 688, "llama.attention.head_count": 8,
  "llama.attention.head_count_kv": 4, "llama.block_count": 2, "llama.context_length": 4096, "llama.rope.freq_base": f32(500000),
  "llama.attention.layer_norm_rms_epsilon": f32(1e-5), "tokenizer.ggml.tokens": Array.from({ length: 48 }, (_, i) => `t${i}`),
};
const GGUF_QWEN2: Json = Object.fromEntries(Object.entries(GGUF_LLAMA).map(([k, v]) => [k.replace(/^llama\./, "qwen2."), v]));
GGUF_QWEN2["general.architecture"] = "qwen2";

const GGUF_CASES: [string, Json, string[], number[] | null][] = [
  ["llama, vocabulary from the token list, tied", GGUF_LLAMA, ["token_embd.weight"], null],
  ["llama, vocab_size key, defaults for the rest", { "general.architecture": "llama", "llama.embedding_length": 128, "llama.feed_forward_length": 256, "llama.attention.head_count": 4, "llama.block_count": 1, "llama.vocab_size": 64 }, ["output.weight"], null],
  ["qwen2, untied", GGUF_QWEN2, ["token_embd.weight", "output.weight"], null],
  ["qwen3, key_length of its own", { ...Object.fromEntries(Object.entries(GGUF_QWEN2).map(([k, v]) => [k.replace(/^qwen2\./, "qwen3."), v])), "general.architecture": "qwen3", "qwen3.attention.key_length": 64 }, [], null],
  ["rope scaling linear", { ...GGUF_LLAMA, "llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": f32(4) }, [], null],
  ["rope scaling none", { ...GGUF_LLAMA, "llama.rope.scaling.type": "none" }, [], null],
  ["llama3 scaling as rope_freqs factors", GGUF_LLAMA, [], Array.from({ length: 16 }, (_, i) => f32(i < 6 ? 1 : i < 11 ? 1 + (i - 5) * 1.4 : 8))],
  ["partial rotary (rope.dimension_count)", { ...GGUF_LLAMA, "llama.rope.dimension_count": 16 }, [], null],
  ["sliding window", { ...GGUF_QWEN2, "qwen2.attention.sliding_window": 1024 }, [], null],
  // refusals
  ["no architecture", { ...GGUF_LLAMA, "general.architecture": undefined }, [], null],
  ["architecture gptneox", { ...GGUF_LLAMA, "general.architecture": "gptneox" }, [], null],
  ["rope scaling yarn", { ...GGUF_LLAMA, "llama.rope.scaling.type": "yarn", "llama.rope.scaling.factor": f32(4) }, [], null],
  ["missing embedding length", { ...GGUF_LLAMA, "llama.embedding_length": undefined }, [], null],
  ["head count a string", { ...GGUF_LLAMA, "llama.attention.head_count": "8" }, [], null],
  ["rope dimension beyond the head", { ...GGUF_LLAMA, "llama.rope.dimension_count": 64 }, [], null],
  ["rope_freqs of the wrong length", GGUF_LLAMA, [], [1, 2, 3]],
  ["a rope_freqs factor of 0", GGUF_LLAMA, [], Array.from({ length: 16 }, (_, i) => (i === 3 ? 0 : 1))],
];

function outcome(read: () => ModelConfig, freqFactors?: number[] | null): Outcome {
  try {
    const config = read();
    return { config, invFreq: Array.from(ropeInvFreq(config, freqFactors ? Float32Array.from(freqFactors) : undefined)) };
  } catch (e) {
    if (!(e instanceof DbllmError)) throw e;
    return { error: e.code };
  }
}

/** JSON without the keys whose value is undefined (a case removes a key by setting it so). */
const defined = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export function hfOutcome(config: Json): Outcome {
  return outcome(() => configFromHF(config, "config.json"));
}

export function ggufOutcome(metadata: Json, tensors: string[], freqFactors: number[] | null): Outcome {
  return outcome(() => configFromGGUF(new GGUFMeta(new Map(Object.entries(metadata) as [string, never][]), "model.gguf"), new Set(tensors)), freqFactors);
}

export function makeConfigVector(): { generator: string; constants: Record<string, number>; hf: HFCase[]; gguf: GGUFCase[] } {
  return {
    generator: "scripts/make-config-vector.ts (src/config/)",
    constants: { safetensorsMaxHeader: MAX_HEADER },
    hf: HF_CASES.map(([name, c]) => ({ name, config: defined(c), expect: hfOutcome(defined(c)) })),
    gguf: GGUF_CASES.map(([name, m, tensors, freqFactors]) => ({ name, metadata: defined(m), tensors, freqFactors, expect: ggufOutcome(defined(m), tensors, freqFactors) })),
  };
}

if (process.argv[1]?.endsWith("make-config-vector.ts")) {
  const v = makeConfigVector();
  writeFileSync(CONFIG_FIXTURE, JSON.stringify(v, null, 1) + "\n");
  const refused = [...v.hf, ...v.gguf].filter((c) => "error" in c.expect).length;
  process.stderr.write(`wrote ${CONFIG_FIXTURE}: ${v.hf.length} HF and ${v.gguf.length} GGUF cases (${refused} refusals)\n`);
}
