// Random-weight model files of real shapes for speed benchmarks: an F16 GGUF (for llama.cpp's own quantizer
// to turn into Q2_K / Q4_0) and a .dbllm with fdb2 block matrices. Values are random but well-formed; speed
// does not depend on them. Files are cached in bench/.work by shape.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import { dbllmMetadataStrings } from "../../src/formats/dbllm.ts";
import { meta, writeGGUF, type GGUFTensorOut } from "../../src/formats/gguf-write.ts";
import { safetensorsLayout } from "../../src/formats/safetensors.ts";
import type { ModelConfig } from "../../src/config/model-config.ts";
import { weightSpecs } from "../../src/model/weights.ts";
import { f32ToF16 } from "../../src/quant/half.ts";
import { typeByName } from "../../src/quant/table.ts";
import { Tokenizer } from "../../src/tokenizer/index.ts";
import { rng } from "../../tests/helpers/numeric.ts";
import { byteLevelVocab } from "../../tests/helpers/toy-vocab.ts";
import { WORK } from "../harness.ts";
import type { Shape } from "./shapes.ts";

export function configOf(s: Shape): ModelConfig {
  const headDim = s.dim / s.nHeads;
  return {
    architecture: "llama", vocabSize: s.vocabSize, dim: s.dim, nLayers: s.nLayers, nHeads: s.nHeads, nKvHeads: s.nKvHeads,
    headDim, ffnDim: s.ffnDim, normEps: 1e-5, ropeTheta: s.ropeTheta, ropeDim: headDim, ropeLayout: "interleaved",
    ropeScaling: { type: "none" }, contextLength: s.contextLength, slidingWindow: 0, tiedEmbeddings: s.tied, qkNorm: false,
  };
}

/** Random small f16 values as raw bytes (sign, exponent in [2^-9, 2^-4), random mantissa). */
function randomF16Bytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint16Array(n);
  let r = Math.floor(rand() * 2 ** 32) >>> 0;
  for (let i = 0; i < n; i++) {
    r ^= r << 13; r ^= r >>> 17; r ^= r << 5; r >>>= 0;
    out[i] = ((r & 1) << 15) | ((6 + ((r >>> 1) % 5)) << 10) | ((r >>> 4) & 0x3ff);
  }
  return new Uint8Array(out.buffer);
}

function writeFile(file: string, chunks: Iterable<Uint8Array>): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.partial`, fd = openSync(tmp, "w");
  try { for (const c of chunks) writeSync(fd, c); } finally { closeSync(fd); }
  renameSync(tmp, file);
}

function vocabMeta(s: Shape) {
  const v = byteLevelVocab(200, s.vocabSize);
  return {
    vocab: v,
    gguf: {
      "tokenizer.ggml.model": meta.str("gpt2"), "tokenizer.ggml.pre": meta.str("gpt-2"),
      "tokenizer.ggml.tokens": meta.strings(v.tokens), "tokenizer.ggml.token_type": meta.i32s(v.tokenTypes),
      "tokenizer.ggml.merges": meta.strings(v.merges), "tokenizer.ggml.bos_token_id": meta.u32(v.bos),
      "tokenizer.ggml.eos_token_id": meta.u32(v.eos), "tokenizer.chat_template": meta.str(v.chatTemplate),
    },
  };
}

/** F16 GGUF of the shape (matrices F16, vectors F32), as llama.cpp's converter would write it. */
export function randomF16Gguf(s: Shape): string {
  const file = path.join(WORK, `${s.name}-f16.gguf`);
  if (existsSync(file)) return file;
  process.stderr.write(`writing ${file}\n`);
  const rand = rng(5), c = configOf(s), F16 = typeByName("F16")!, F32 = typeByName("F32")!;
  const tensors: GGUFTensorOut[] = [...weightSpecs(c)].filter((t) => !t.optional).map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const isVec = t.shape.length === 1;
    return { name: t.name, type: isVec ? F32 : F16, shape: t.shape, data: () => (isVec ? new Uint8Array(new Float32Array(n).fill(1).buffer) : randomF16Bytes(n, rand)) };
  });
  const a = "llama";
  writeFile(file, writeGGUF({
    "general.architecture": meta.str(a), "general.name": meta.str(`random-${s.name}`), "general.file_type": meta.u32(1),
    [`${a}.context_length`]: meta.u32(s.contextLength), [`${a}.embedding_length`]: meta.u32(s.dim), [`${a}.block_count`]: meta.u32(s.nLayers),
    [`${a}.feed_forward_length`]: meta.u32(s.ffnDim), [`${a}.attention.head_count`]: meta.u32(s.nHeads),
    [`${a}.attention.head_count_kv`]: meta.u32(s.nKvHeads), [`${a}.rope.freq_base`]: meta.f32(s.ropeTheta),
    [`${a}.attention.layer_norm_rms_epsilon`]: meta.f32(1e-5), [`${a}.rope.dimension_count`]: meta.u32(s.dim / s.nHeads),
    [`${a}.vocab_size`]: meta.u32(s.vocabSize), ...vocabMeta(s).gguf,
  }, tensors));
  return file;
}

/** .dbllm of the shape: fdb2 (group g) block matrices with random bits and scales, Q8_0 (or Q4_0) embeddings/head. */
export function randomDbllm(s: Shape, g: number, head: "Q8_0" | "Q4_0" = "Q8_0"): string {
  const file = path.join(WORK, `${s.name}-fdb-g${g}${head === "Q8_0" ? "" : `-${head}`}.dbllm`);
  if (existsSync(file)) return file;
  process.stderr.write(`writing ${file}\n`);
  const rand = rng(6), c = configOf(s), { vocab } = vocabMeta(s);
  const tokenizer = Tokenizer.fromHF(vocab.tokenizerJson, vocab.tokenizerConfig);
  const specs = [...weightSpecs(c)].filter((t) => !t.optional);
  const Q8 = typeByName(head)!, FDB = typeByName(`FDB2_G${g}`)!;
  const tensorTypes: Record<string, { type: string; shape: number[] }> = {};
  const outs = specs.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length === 1) return { spec: t, dtype: "F32", shape: t.shape, byteLength: n * 4, kind: "vec" as const };
    const type = t.role === "linear" && t.name !== "output.weight" ? FDB : Q8;
    const byteLength = (n / type.blockSize) * type.blockBytes;
    tensorTypes[t.name] = { type: type.name, shape: t.shape };
    return { spec: t, dtype: "U8", shape: [t.shape[0], byteLength / t.shape[0]], byteLength, kind: type === FDB ? "fdb" as const : "q8" as const };
  });
  const md = dbllmMetadataStrings({ config: c, tokenizer: tokenizer.serialize(), quantization: { method: "random", group_size: g }, tensorTypes });
  const { header } = safetensorsLayout(outs.map((o) => ({ name: o.spec.name, dtype: o.dtype, shape: o.shape, byteLength: o.byteLength })), md);
  const chunks = function* () {
    yield header;
    for (let i = 0; i < outs.length; i++) {
      const o = outs[i];
        const b = new Uint8Array(o.byteLength);
      if (o.kind === "vec") new Float32Array(b.buffer).fill(1);
      else {
        for (let j = 0; j < b.length; j += 4) { const r = Math.floor(rand() * 2 ** 32); b[j] = r & 255; b[j + 1] = (r >>> 8) & 255; b[j + 2] = (r >>> 16) & 255; b[j + 3] = r >>> 24; }
        const blk = o.kind === "fdb" ? g / 4 + 4 : Q8.blockBytes;
        for (let j = 0; j < b.length; j += blk) {
          // scales: small finite f16 values
          const at = o.kind === "fdb" ? [j + g / 4, j + g / 4 + 2] : [j];
          for (const p of at) { const h = f32ToF16((rand() - 0.5) * 0.02); b[p] = h & 255; b[p + 1] = h >> 8; }
        }
      }
      yield b;
    }
  };
  writeFile(file, chunks());
  return file;
}
