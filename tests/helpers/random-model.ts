// Builds small random-weight LLaMA-family models in two containers holding the same weights: a GGUF file
// (as llama.cpp's converter would write it, Q/K rows permuted for llama) and a Hugging Face directory
// (config.json, model.safetensors, tokenizer.json, ...). Used by parity tests and benchmarks.
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import path from "node:path";
import { meta, writeGGUF, type GGUFTensorOut, type GGUFTypedValue } from "../../src/formats/gguf-write.ts";
import { writeSafetensors } from "../../src/formats/safetensors.ts";
import { typeByName } from "../../src/quant/table.ts";
import { f16ToF32, f32ToF16 } from "../../src/quant/half.ts";
import { hfFromCanonical } from "../../src/formats/hf-names.ts";
import { rng } from "./numeric.ts";
import { byteLevelVocab, type ToyVocab } from "./toy-vocab.ts";

export interface RandomModelSpec {
  arch: "llama" | "qwen2" | "qwen3";
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim?: number;
  ffnDim: number;
  /** Merges of the toy byte-level BPE vocabulary (vocab = 256 + merges + 3 specials), or a fixed vocab size. */
  merges?: number;
  vocabSize?: number;
  tied: boolean;
  ropeTheta?: number;
  contextLength?: number;
  normEps?: number;
  seed?: number;
  /** Tensor type of the matrices in the GGUF file (vectors stay F32). */
  ggufType?: "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0" | "Q4_1";
  /** dtype of everything in the safetensors file. */
  hfDtype?: "F32" | "F16" | "BF16";
  /** Write llama3-style rope scaling (HF rope_scaling + GGUF rope_freqs tensor). */
  llama3Rope?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };
  /**
   * Make every block matrix exactly representable as fdb2 with this group size (random bits, f16 scales), so a
   * quantizer that finds the representation loses nothing.
   */
  fdbExactGroup?: number;
  /** Skip writing one of the containers. */
  gguf?: boolean;
  hf?: boolean;
}

export interface BuiltModel {
  gguf: string;
  hfDir: string;
  vocab: ToyVocab;
  spec: Required<Pick<RandomModelSpec, "headDim" | "ropeTheta" | "contextLength" | "normEps">> & RandomModelSpec;
}

/** Standard normal from a uniform source (Box–Muller). */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** HF → GGUF row order of llama q/k weights (convert_hf_to_gguf's permute): pairs (i, i+d/2) become (2i, 2i+1). */
export function permuteRows(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const out = new Float32Array(w.length), hd = rows / heads, half = hd / 2;
  for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) for (let j = 0; j < 2; j++) {
    const src = h * hd + j * half + i, dst = h * hd + 2 * i + j;
    out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
  }
  return out;
}

export function buildRandomModel(dir: string, s: RandomModelSpec): BuiltModel {
  const spec = { headDim: s.dim / s.nHeads, ropeTheta: 10000, contextLength: 512, normEps: 1e-5, ...s };
  const { arch, dim, nLayers, nHeads, nKvHeads, headDim, ffnDim } = spec;
  const vocab = byteLevelVocab(s.merges ?? 200, s.vocabSize);
  const V = vocab.tokens.length;
  const rand = rng(s.seed ?? 1);
  const g = gaussian(rand);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const mat = (name: string, rows: number, cols: number, std: number) => {
    const d = new Float32Array(rows * cols);
    const G = s.fdbExactGroup;
    if (G && name.startsWith("blk.")) {
      for (let j = 0; j < d.length; j += G) {
        const a1 = f16ToF32(f32ToF16(std * (1 + rand()))), a2 = f16ToF32(f32ToF16(-std * (0.3 + rand())));
        for (let i = 0; i < G; i++) d[j + i] = (rand() < 0.35 ? a1 : 0) + (rand() < 0.35 ? a2 : 0);
      }
    } else for (let i = 0; i < d.length; i++) d[i] = g() * std;
    tensors.set(name, { shape: [rows, cols], data: d });
  };
  const vec = (name: string, n: number, mean: number, std: number) => {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = mean + g() * std;
    tensors.set(name, { shape: [n], data: d });
  };
  const q = nHeads * headDim, kv = nKvHeads * headDim;
  mat("token_embd.weight", V, dim, 2 / Math.sqrt(dim)); // logits of std ≈ 2 when tied
  for (let l = 0; l < nLayers; l++) {
    const b = `blk.${l}.`;
    vec(b + "attn_norm.weight", dim, 1, 0.1);
    mat(b + "attn_q.weight", q, dim, 1 / Math.sqrt(dim));
    mat(b + "attn_k.weight", kv, dim, 1 / Math.sqrt(dim));
    mat(b + "attn_v.weight", kv, dim, 1 / Math.sqrt(dim));
    if (arch === "qwen2") {
      vec(b + "attn_q.bias", q, 0, 0.1);
      vec(b + "attn_k.bias", kv, 0, 0.1);
      vec(b + "attn_v.bias", kv, 0, 0.1);
    }
    if (arch === "qwen3") {
      vec(b + "attn_q_norm.weight", headDim, 1, 0.1);
      vec(b + "attn_k_norm.weight", headDim, 1, 0.1);
    }
    mat(b + "attn_output.weight", dim, q, 1 / Math.sqrt(q));
    vec(b + "ffn_norm.weight", dim, 1, 0.1);
    mat(b + "ffn_gate.weight", ffnDim, dim, 1 / Math.sqrt(dim));
    mat(b + "ffn_up.weight", ffnDim, dim, 1 / Math.sqrt(dim));
    mat(b + "ffn_down.weight", dim, ffnDim, 1 / Math.sqrt(ffnDim));
  }
  vec("output_norm.weight", dim, 1, 0.1);
  if (!s.tied) mat("output.weight", V, dim, 2 / Math.sqrt(dim));

  mkdirSync(dir, { recursive: true });
  const gguf = path.join(dir, "model.gguf");
  const hfDir = path.join(dir, "hf");
  if (s.gguf !== false) writeGGUFModel(gguf, spec, vocab, tensors);
  if (s.hf !== false) writeHFModel(hfDir, spec, vocab, tensors);
  return { gguf, hfDir, vocab, spec };
}

function writeChunks(file: string, chunks: Iterable<Uint8Array>): void {
  const fd = openSync(file, "w");
  try { for (const c of chunks) writeSync(fd, c); } finally { closeSync(fd); }
}

function llama3Factors(spec: BuiltModel["spec"]): Float32Array {
  const r = spec.llama3Rope!, rot = spec.headDim, half = rot / 2;
  const f = new Float32Array(half);
  const low = r.originalContext / r.lowFreqFactor, high = r.originalContext / r.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const freq = Math.pow(spec.ropeTheta, -(2 * i) / rot), wavelen = (2 * Math.PI) / freq;
    if (wavelen < high) f[i] = 1;
    else if (wavelen > low) f[i] = r.factor;
    else { const smooth = (r.originalContext / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor); f[i] = 1 / ((1 - smooth) / r.factor + smooth); }
  }
  return f;
}

function writeGGUFModel(file: string, spec: BuiltModel["spec"], vocab: ToyVocab, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  const a = spec.arch;
  const md: Record<string, GGUFTypedValue> = {
    "general.architecture": meta.str(a),
    "general.name": meta.str(`random-${a}`),
    [`${a}.context_length`]: meta.u32(spec.contextLength),
    [`${a}.embedding_length`]: meta.u32(spec.dim),
    [`${a}.block_count`]: meta.u32(spec.nLayers),
    [`${a}.feed_forward_length`]: meta.u32(spec.ffnDim),
    [`${a}.attention.head_count`]: meta.u32(spec.nHeads),
    [`${a}.attention.head_count_kv`]: meta.u32(spec.nKvHeads),
    [`${a}.rope.freq_base`]: meta.f32(spec.ropeTheta),
    [`${a}.attention.layer_norm_rms_epsilon`]: meta.f32(spec.normEps),
    [`${a}.rope.dimension_count`]: meta.u32(spec.headDim),
    [`${a}.vocab_size`]: meta.u32(vocab.tokens.length),
    "tokenizer.ggml.model": meta.str("gpt2"),
    "tokenizer.ggml.pre": meta.str("gpt-2"),
    "tokenizer.ggml.tokens": meta.strings(vocab.tokens),
    "tokenizer.ggml.token_type": meta.i32s(vocab.tokenTypes),
    "tokenizer.ggml.merges": meta.strings(vocab.merges),
    "tokenizer.ggml.bos_token_id": meta.u32(vocab.bos),
    "tokenizer.ggml.eos_token_id": meta.u32(vocab.eos),
    "tokenizer.ggml.add_bos_token": meta.bool(true),
    "tokenizer.chat_template": meta.str(vocab.chatTemplate),
  };
  if (spec.headDim !== spec.dim / spec.nHeads) {
    md[`${a}.attention.key_length`] = meta.u32(spec.headDim);
    md[`${a}.attention.value_length`] = meta.u32(spec.headDim);
  }
  const matType = typeByName(spec.ggufType ?? "F32")!, f32 = typeByName("F32")!;
  const out: GGUFTensorOut[] = [];
  for (const [name, t] of tensors) {
    let data = t.data;
    if (a === "llama" && name.endsWith("attn_q.weight")) data = permuteRows(data, t.shape[0], t.shape[1], spec.nHeads);
    if (a === "llama" && name.endsWith("attn_k.weight")) data = permuteRows(data, t.shape[0], t.shape[1], spec.nKvHeads);
    const type = t.shape.length === 2 ? matType : f32;
    out.push({ name, type, shape: t.shape, data: () => type.encode!(data) });
  }
  if (spec.llama3Rope) out.push({ name: "rope_freqs.weight", type: f32, shape: [spec.headDim / 2], data: f32.encode!(llama3Factors(spec)) });
  writeChunks(file, writeGGUF(md, out));
}

function writeHFModel(dir: string, spec: BuiltModel["spec"], vocab: ToyVocab, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  mkdirSync(dir, { recursive: true });
  const archName = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" }[spec.arch];
  const config: Record<string, unknown> = {
    architectures: [archName],
    model_type: spec.arch,
    vocab_size: vocab.tokens.length,
    hidden_size: spec.dim,
    num_hidden_layers: spec.nLayers,
    num_attention_heads: spec.nHeads,
    num_key_value_heads: spec.nKvHeads,
    intermediate_size: spec.ffnDim,
    rms_norm_eps: spec.normEps,
    rope_theta: spec.ropeTheta,
    max_position_embeddings: spec.contextLength,
    tie_word_embeddings: spec.tied,
    bos_token_id: vocab.bos,
    eos_token_id: vocab.eos,
    torch_dtype: { F32: "float32", F16: "float16", BF16: "bfloat16" }[spec.hfDtype ?? "F32"],
  };
  if (spec.arch === "qwen3") config.head_dim = spec.headDim;
  if (spec.llama3Rope) {
    const r = spec.llama3Rope;
    config.rope_scaling = { rope_type: "llama3", factor: r.factor, low_freq_factor: r.lowFreqFactor, high_freq_factor: r.highFreqFactor, original_max_position_embeddings: r.originalContext };
  }
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  writeFileSync(path.join(dir, "generation_config.json"), JSON.stringify({ bos_token_id: vocab.bos, eos_token_id: vocab.eos }, null, 2));
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(vocab.tokenizerJson));
  writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(vocab.tokenizerConfig, null, 2));
  const dtype = spec.hfDtype ?? "F32";
  const type = typeByName(dtype)!;
  const list = [...tensors].map(([name, t]) => {
    const bytes = type.encode!(t.data);
    return { name: hfFromCanonical(name), dtype, shape: t.shape, byteLength: bytes.byteLength, data: bytes };
  });
  writeChunks(path.join(dir, "model.safetensors"), writeSafetensors(list, { format: "pt" }));
}
