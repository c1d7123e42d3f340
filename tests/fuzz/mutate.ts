// The fuzz corpus's mutation script: deterministic mutants of the seeds (tests/fuzz/seeds/), each one damaged
// in one way. Byte-level damage (bit flips, truncation, overwritten counts) finds what a parser forgot to check;
// structure-aware damage (a metadata value, a tensor offset, a NaN scale, a hostile chat template, a config field
// of the wrong type) reaches the checks behind the parser. The same operators build the regression tests'
// mutated files (tests/malformed-files.test.ts). Mutant i of a run is reproducible from (seed, i).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseGGUF, type GGUFFile } from "../../src/formats/gguf.ts";
import { typedMetadata, writeGGUF, type GGUFTypedValue } from "../../src/formats/gguf-write.ts";
import { GGUFValueType as T } from "../../src/formats/gguf.ts";
import { rng } from "../helpers/numeric.ts";

export type SeedKind = "gguf" | "dbllm" | "hf";

export interface Seed {
  name: string;
  kind: SeedKind;
  /** One entry "model" for single files; the directory's files for a Hugging Face directory. */
  files: Record<string, Uint8Array>;
}

export interface Mutant {
  id: string;
  seed: string;
  kind: SeedKind;
  /** Operator name and what it did. */
  op: string;
  files: Record<string, Uint8Array>;
}

export function loadSeeds(dir: string): Seed[] {
  return readdirSync(dir).sort().map((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      const files: Record<string, Uint8Array> = {};
      for (const f of readdirSync(p).sort()) files[f] = new Uint8Array(readFileSync(path.join(p, f)));
      return { name, kind: "hf" as const, files };
    }
    return { name, kind: name.endsWith(".gguf") ? "gguf" as const : "dbllm" as const, files: { model: new Uint8Array(readFileSync(p)) } };
  });
}

// ---- values a mutation writes ----

/** Sizes and counts at the edges: zero, one, off by one, the limits of the checks, beyond 32 bits. */
export const INTERESTING_INTS = [0, 1, 2, 3, 7, 255, 65535, 2 ** 24, 2 ** 24 + 1, 2 ** 31 - 1, 2 ** 32 - 1];
export const INTERESTING_FLOATS = [0, -1, 1e-30, 1e30, 3.4e38, NaN, Infinity, -Infinity, 0.5];

/** Chat templates that loop, grow, recurse or fail: each must end within the template budget. */
export const HOSTILE_TEMPLATES = [
  "{% for i in range(100000000) %}x{% endfor %}",
  "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
  "{% set s = 'abcdefgh' %}{% for i in range(60) %}{% set s = s ~ s %}{% endfor %}{{ s }}",
  "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
  "{% for m in messages %}{{ m.content }",
  "{{ raise_exception('refused') }}",
  "{{ messages[0].content | tojson(indent=100000000) }}",
  "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n",
];

/** Config values of the wrong type or out of range (JSON: 1e999 parses to Infinity). */
const HOSTILE_JSON = ["null", "\"yes\"", "-1", "0", "1e999", "16777216", "\"__proto__\"", "[]", "{}", "1.5", "true", "\"1\""];

type R = ReturnType<typeof rng>;
const pick = <X>(r: R, xs: readonly X[]): X => xs[Math.floor(r() * xs.length)];
const int = (r: R, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

// ---- container helpers ----

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function gguf(bytes: Uint8Array): GGUFFile {
  return parseGGUF(bytes, bytes.byteLength, "seed");
}

/** A GGUF file written again with metadata and tensors changed by `edit` (tensor data copied). */
export function rewriteGGUF(bytes: Uint8Array, edit: (md: Record<string, GGUFTypedValue>, tensors: { name: string; type: GGUFFile["tensors"][0]["type"]; shape: number[]; data: Uint8Array }[]) => void): Uint8Array {
  const f = gguf(bytes);
  const md = typedMetadata(f);
  const tensors = f.tensors.map((t) => ({ name: t.name, type: t.type, shape: [...t.shape], data: bytes.slice(t.offset, t.offset + t.byteLength) }));
  edit(md, tensors);
  return new Uint8Array(Buffer.concat([...writeGGUF(md, tensors, f.alignment)]));
}

/** Byte position of a GGUF tensor's info fields: after its name come n_dims (u32), dims (u64 each), type (u32), offset (u64). */
export function ggufTensorInfoAt(bytes: Uint8Array, name: string): number {
  const key = Buffer.alloc(8 + Buffer.byteLength(name));
  key.writeBigUInt64LE(BigInt(Buffer.byteLength(name)));
  key.write(name, 8);
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(key, 24);
  if (at < 0) throw new Error(`tensor ${name} not found`);
  return at + key.length;
}

export interface SafetensorsParts { header: Record<string, unknown>; headerLength: number; data: Uint8Array }

export function safetensorsParts(bytes: Uint8Array): SafetensorsParts {
  const n = Number(dv(bytes).getBigUint64(0, true));
  return { header: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")), headerLength: n, data: bytes.subarray(8 + n) };
}

/** A safetensors file whose header `edit` changed; the header keeps its length (space padding) when it still fits. */
export function rewriteSafetensors(bytes: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const { header, headerLength, data } = safetensorsParts(bytes);
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const n = json.length <= headerLength ? headerLength : Math.ceil((8 + json.length) / 64) * 64 - 8;
  const out = new Uint8Array(8 + n + data.byteLength).fill(0x20, 8, 8 + n);
  dv(out).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

/** Edits one JSON string of a .dbllm's __metadata__ (parsed, changed by `edit`, written back). */
export function editDbllmJson(bytes: Uint8Array, key: string, edit: (value: Record<string, unknown>) => unknown): Uint8Array {
  return rewriteSafetensors(bytes, (h) => {
    const md = h.__metadata__ as Record<string, string>;
    const v = JSON.parse(md[key]);
    const out = edit(v);
    md[key] = JSON.stringify(out === undefined ? v : out);
  });
}

/** Writes a NaN / ±Inf into the first float of block `block` of a tensor (a value or a scale, per its type). */
export function poisonTensor(bytes: Uint8Array, t: { offset: number; byteLength: number; type: { name: string; blockBytes: number; floats?: { kind: string; at: readonly number[] } } }, block: number, value: "nan" | "inf"): Uint8Array {
  const f = t.type.floats;
  if (!f) throw new Error(`${t.type.name} stores no floats`);
  const out = bytes.slice();
  const at = t.offset + (block % (t.byteLength / t.type.blockBytes)) * t.type.blockBytes + f.at[0];
  if (f.kind === "f32") dv(out).setFloat32(at, value === "nan" ? NaN : Infinity, true);
  else if (f.kind === "f16") dv(out).setUint16(at, value === "nan" ? 0x7e00 : 0x7c00, true);
  else dv(out).setUint16(at, value === "nan" ? 0x7fc0 : 0x7f80, true);
  return out;
}

// ---- operators ----

type Files = Record<string, Uint8Array>;
interface Op { name: string; kinds: SeedKind[]; apply(s: Seed, r: R): { files: Files; what: string } | undefined }

/** The file the byte-level operators damage: the model file, or a Hugging Face directory's weights. */
const mainFile = (s: Seed) => (s.kind === "hf" ? "model.safetensors" : "model");
const withFile = (s: Seed, name: string, bytes: Uint8Array): Files => ({ ...s.files, [name]: bytes });
const headerEnd = (s: Seed): number => {
  const b = s.files[mainFile(s)];
  return s.kind === "gguf" ? gguf(b).dataOffset : 8 + Number(dv(b).getBigUint64(0, true));
};

const bitflips = (region: "header" | "data"): Op => ({
  name: `bitflip-${region}`, kinds: ["gguf", "dbllm", "hf"],
  apply(s, r) {
    const f = mainFile(s), b = s.files[f].slice(), h = headerEnd(s);
    const [lo, hi] = region === "header" ? [0, h - 1] : [h, b.length - 1];
    const flips = int(r, 1, 8), at: number[] = [];
    for (let i = 0; i < flips; i++) { const p = int(r, lo, hi); b[p] ^= 1 << int(r, 0, 7); at.push(p); }
    return { files: withFile(s, f, b), what: `bits at ${at.join(",")}` };
  },
});

const OPS: Op[] = [
  bitflips("header"),
  bitflips("data"),
  {
    name: "truncate", kinds: ["gguf", "dbllm", "hf"],
    apply(s, r) { const f = mainFile(s), n = int(r, 0, s.files[f].length - 1); return { files: withFile(s, f, s.files[f].slice(0, n)), what: `at ${n}` }; },
  },
  {
    name: "gguf-count", kinds: ["gguf"],
    apply(s, r) {
      const b = s.files.model.slice(), at = pick(r, [8, 16]), v = BigInt(pick(r, INTERESTING_INTS)) * BigInt(pick(r, [1, 1, 2 ** 20]));
      dv(b).setBigUint64(at, v, true);
      return { files: { model: b }, what: `${at === 8 ? "tensor" : "metadata"} count ${v}` };
    },
  },
  {
    name: "gguf-meta-number", kinds: ["gguf"],
    apply(s, r) {
      const f = gguf(s.files.model), arch = f.metadata.get("general.architecture") as string;
      const keys = [...f.metadata.keys()].filter((k) => k.startsWith(`${arch}.`) || k.endsWith("_token_id"));
      const key = pick(r, [...keys, `${arch}.rope.scaling.factor`, `${arch}.attention.key_length`, `${arch}.attention.sliding_window`]);
      const float = r() < 0.5;
      const value = float ? pick(r, INTERESTING_FLOATS) : pick(r, INTERESTING_INTS);
      const b = rewriteGGUF(s.files.model, (md) => {
        md[key] = float ? { type: T.FLOAT32, value } : { type: T.UINT32, value: value >>> 0 };
        if (key.endsWith("scaling.factor")) md[`${arch}.rope.scaling.type`] = { type: T.STRING, value: "linear" };
      });
      return { files: { model: b }, what: `${key} = ${value}` };
    },
  },
  {
    name: "gguf-meta-string", kinds: ["gguf"],
    apply(s, r) {
      const [key, values] = pick(r, [
        ["general.architecture", ["gpt2", "__proto__", "constructor", "", "qwen3", "llama"]],
        ["tokenizer.ggml.model", ["bert", "", "__proto__", "llama"]],
        ["tokenizer.ggml.pre", ["unknown", "__proto__", "qwen2"]],
        ["tokenizer.chat_template", HOSTILE_TEMPLATES],
      ] as const);
      const value = pick(r, values);
      return { files: { model: rewriteGGUF(s.files.model, (md) => { md[key] = { type: T.STRING, value }; }) }, what: `${key} = ${JSON.stringify(value).slice(0, 60)}` };
    },
  },
  {
    name: "gguf-meta-type", kinds: ["gguf"],
    apply(s, r) {
      const f = gguf(s.files.model), key = pick(r, [...f.metadata.keys()]);
      const value: GGUFTypedValue = pick(r, [
        { type: T.STRING, value: "12" }, { type: T.BOOL, value: true }, { type: T.ARRAY, elementType: T.INT32, value: [1, 2] },
        { type: T.UINT64, value: 2 ** 40 }, { type: T.FLOAT32, value: NaN },
      ] as GGUFTypedValue[]);
      return { files: { model: rewriteGGUF(s.files.model, (md) => { md[key] = value; }) }, what: `${key} as type ${value.type}` };
    },
  },
  {
    name: "gguf-meta-drop", kinds: ["gguf"],
    apply(s, r) {
      const key = pick(r, [...gguf(s.files.model).metadata.keys()]);
      return { files: { model: rewriteGGUF(s.files.model, (md) => { delete md[key]; }) }, what: key };
    },
  },
  {
    name: "gguf-vocab", kinds: ["gguf"],
    apply(s, r) {
      const f = gguf(s.files.model), tokens = [...(f.metadata.get("tokenizer.ggml.tokens") as string[])];
      const how = pick(r, ["duplicate", "short-types", "bad-type", "bad-merge", "bos-out", "drop-byte"]);
      const b = rewriteGGUF(s.files.model, (md) => {
        const types = Array.from(md["tokenizer.ggml.token_type"].value as ArrayLike<number>);
        if (how === "duplicate") { tokens[int(r, 0, tokens.length - 1)] = tokens[int(r, 0, tokens.length - 1)]; md["tokenizer.ggml.tokens"] = { type: T.ARRAY, elementType: T.STRING, value: tokens }; }
        if (how === "short-types") md["tokenizer.ggml.token_type"] = { type: T.ARRAY, elementType: T.INT32, value: types.slice(1) };
        if (how === "bad-type") { types[int(r, 0, types.length - 1)] = 99; md["tokenizer.ggml.token_type"] = { type: T.ARRAY, elementType: T.INT32, value: types }; }
        if (how === "bad-merge") md["tokenizer.ggml.merges"] = { type: T.ARRAY, elementType: T.STRING, value: ["nospace", "Ġ t"] };
        if (how === "bos-out") md["tokenizer.ggml.bos_token_id"] = { type: T.UINT32, value: tokens.length + 5 };
        if (how === "drop-byte") { // a vocabulary without a token for the byte "h" (its merges dropped too)
          const at = tokens.indexOf("h");
          tokens[at] = "<|unused|>";
          types[at] = 5;
          md["tokenizer.ggml.tokens"] = { type: T.ARRAY, elementType: T.STRING, value: tokens };
          md["tokenizer.ggml.token_type"] = { type: T.ARRAY, elementType: T.INT32, value: types };
          md["tokenizer.ggml.merges"] = { type: T.ARRAY, elementType: T.STRING, value: (md["tokenizer.ggml.merges"].value as string[]).filter((m) => !m.includes("h")) };
        }
      });
      return { files: { model: b }, what: how };
    },
  },
  {
    name: "gguf-tensor-info", kinds: ["gguf"],
    apply(s, r) {
      const f = gguf(s.files.model), t = pick(r, f.tensors), other = pick(r, f.tensors);
      const b = s.files.model.slice(), at = ggufTensorInfoAt(b, t.name), nd = dv(b).getUint32(at, true);
      const field = pick(r, ["offset-zero", "offset-other", "offset-shift", "dim", "type", "ndims"]);
      const offsetAt = at + 4 + 8 * nd + 4;
      if (field === "offset-zero") dv(b).setBigUint64(offsetAt, 0n, true);
      if (field === "offset-other") dv(b).setBigUint64(offsetAt, BigInt(other.offset - f.dataOffset), true);
      if (field === "offset-shift") dv(b).setBigUint64(offsetAt, BigInt(t.offset - f.dataOffset + pick(r, [32, 64, -32, 4096])), true);
      if (field === "dim") dv(b).setBigUint64(at + 4 + 8 * int(r, 0, nd - 1), BigInt(pick(r, INTERESTING_INTS)), true);
      if (field === "type") dv(b).setUint32(at + 4 + 8 * nd, int(r, 0, 40), true);
      if (field === "ndims") dv(b).setUint32(at, pick(r, [0, 3, 5, 2 ** 31]), true);
      return { files: { model: b }, what: `${t.name} ${field}${field === "offset-other" ? ` = ${other.name}'s` : ""}` };
    },
  },
  {
    name: "poison", kinds: ["gguf", "dbllm", "hf"],
    apply(s, r) {
      const f = mainFile(s), b = s.files[f];
      const tensors = s.kind === "gguf" ? gguf(b).tensors : storedTensors(s);
      const t = pick(r, tensors.filter((x) => x.type.floats));
      const value = pick(r, ["nan", "inf"] as const), block = int(r, 0, 1 << 20);
      return { files: withFile(s, f, poisonTensor(b, t, block, value)), what: `${value} in ${t.name} (${t.type.name})` };
    },
  },
  {
    name: "header-length", kinds: ["dbllm", "hf"],
    apply(s, r) {
      const f = mainFile(s), b = s.files[f].slice(), d = pick(r, [-1, -3, -8, -17, -64, 1, 5, 64]);
      dv(b).setBigUint64(0, dv(b).getBigUint64(0, true) + BigInt(d), true);
      return { files: withFile(s, f, b), what: `${d > 0 ? "+" : ""}${d}` };
    },
  },
  {
    name: "st-tensor", kinds: ["dbllm", "hf"],
    apply(s, r) {
      const f = mainFile(s), how = pick(r, ["offsets-zero", "offsets-other", "offsets-shift", "shape", "dtype", "drop"]);
      let name = "";
      const b = rewriteSafetensors(s.files[f], (h) => {
        const names = Object.keys(h).filter((k) => k !== "__metadata__");
        name = pick(r, names);
        const e = h[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
        const other = h[pick(r, names)] as typeof e;
        const len = e.data_offsets[1] - e.data_offsets[0];
        if (how === "offsets-zero") e.data_offsets = [0, len];
        if (how === "offsets-other") e.data_offsets = [other.data_offsets[0], other.data_offsets[0] + len];
        if (how === "offsets-shift") { const k = pick(r, [2, -2, 64]); e.data_offsets = [e.data_offsets[0] + k, e.data_offsets[1] + k]; }
        if (how === "shape") e.shape = e.shape.map((d) => (r() < 0.5 ? d : pick(r, INTERESTING_INTS)));
        if (how === "dtype") e.dtype = pick(r, ["F32", "F16", "BF16", "U8", "I64", "F8_E4M3", "Q9"]);
        if (how === "drop") delete h[name];
      });
      return { files: withFile(s, f, b), what: `${name} ${how}` };
    },
  },
  {
    name: "dbllm-config", kinds: ["dbllm"],
    apply(s, r) {
      const fields = ["architecture", "vocabSize", "dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim", "normEps", "ropeTheta",
        "ropeDim", "ropeLayout", "ropeScaling", "contextLength", "slidingWindow", "tiedEmbeddings", "qkNorm", "(whole)"];
      const field = pick(r, fields), raw = pick(r, [...HOSTILE_JSON, "\"gpt2\"", "\"weird\"", "{\"type\":\"linear\",\"factor\":0}",
        "{\"type\":\"llama3\",\"factor\":8,\"lowFreqFactor\":1,\"highFreqFactor\":4,\"originalContext\":0}", "{\"type\":\"yarn\"}"]);
      const b = field === "(whole)"
        ? rewriteSafetensors(s.files.model, (h) => { (h.__metadata__ as Record<string, string>)["dbllm.config"] = raw; })
        : editDbllmJson(s.files.model, "dbllm.config", (c) => { c[field] = JSON.parse(raw); });
      return { files: { model: b }, what: `${field} = ${raw}` };
    },
  },
  {
    name: "dbllm-metadata", kinds: ["dbllm"],
    apply(s, r) {
      const key = pick(r, ["format", "dbllm.version", "dbllm.tensor_types", "dbllm.quantization", "dbllm.tokenizer", "dbllm.provenance"]);
      const value = pick(r, [undefined, " 1", "2", "1.0", "", "null", "{}", "[]", "{\"kind\":\"gguf\",\"metadata\":null}"]);
      const b = rewriteSafetensors(s.files.model, (h) => {
        const md = h.__metadata__ as Record<string, string>;
        if (value === undefined) delete md[key]; else md[key] = value;
      });
      return { files: { model: b }, what: `${key} = ${value === undefined ? "(deleted)" : JSON.stringify(value)}` };
    },
  },
  {
    name: "dbllm-tensor-types", kinds: ["dbllm"],
    apply(s, r) {
      let what = "";
      const b = editDbllmJson(s.files.model, "dbllm.tensor_types", (types) => {
        const name = pick(r, Object.keys(types)), e = types[name] as { type: string; shape: unknown };
        if (r() < 0.5) e.type = pick(r, ["FDB2_G7", "FDB2_G32", "Q8_0", "Q4_0", "F32", "__proto__"]);
        else e.shape = pick(r, [[1], [0, 32], [32, 33], null, [2 ** 53, 2], ["32", "32"]]);
        what = `${name} → ${JSON.stringify(e)}`;
      });
      return { files: { model: b }, what };
    },
  },
  {
    name: "dbllm-tokenizer", kinds: ["dbllm"],
    apply(s, r) {
      let what = "";
      const b = editDbllmJson(s.files.model, "dbllm.tokenizer", (tok) => {
        if (tok.kind === "gguf") {
          const md = tok.metadata as Record<string, unknown>;
          const key = pick(r, Object.keys(md));
          md[key] = pick(r, [null, { t: "big", v: "notanumber" }, { t: "f32", v: null }, { t: "json", v: null }, { t: "i32", v: [1.5] },
            { t: "json", v: { nested: true } }, { t: "zzz", v: 1 }, { t: "json", v: [1, "a"] }]);
          what = `${key} = ${JSON.stringify(md[key])}`;
        } else {
          const how = pick(r, ["dup-added", "template", "top-p", "drop-vocab", "null-model", "config-type"]);
          const tj = tok.tokenizerJson as { added_tokens: { id: number }[]; model: { vocab: Record<string, number> } | null };
          if (how === "dup-added") tj.added_tokens[1].id = tj.added_tokens[0].id;
          if (how === "template") (tok.tokenizerConfig as Record<string, unknown>).chat_template = pick(r, HOSTILE_TEMPLATES);
          if (how === "top-p") tok.generationConfig = { do_sample: true, top_p: 7 };
          if (how === "drop-vocab") delete tj.model!.vocab[pick(r, Object.keys(tj.model!.vocab))];
          if (how === "null-model") tj.model = null;
          if (how === "config-type") tok.tokenizerConfig = "x";
          what = how;
        }
      });
      return { files: { model: b }, what };
    },
  },
  {
    name: "hf-json", kinds: ["hf"],
    apply(s, r) {
      const [file, key, values] = pick(r, [
        ["config.json", "architectures", [["constructor"], ["__proto__"], [], "LlamaForCausalLM", [null]]],
        ["config.json", "num_hidden_layers", [16777216, 0, -1, "1", 1.5, 1e999]],
        ["config.json", "hidden_size", [0, 33, 64, "32"]],
        ["config.json", "rope_theta", [0, -1, 1e999, null]],
        ["config.json", "rms_norm_eps", [0, -1, 2, "x"]],
        ["config.json", "tie_word_embeddings", ["yes", false]],
        ["config.json", "rope_scaling", [null, 5, { rope_type: "llama3", factor: 0 }, { rope_type: "llama3", factor: 8, original_max_position_embeddings: 0 },
          { rope_type: "llama3", factor: 8, low_freq_factor: 4, high_freq_factor: 4 }, { rope_type: "yarn", factor: 2 }, { type: "linear", factor: -1 }]],
        ["generation_config.json", "top_p", [7, -1, "0.9", 0]],
        ["generation_config.json", "temperature", [-1, 1e999, 101]],
        ["generation_config.json", "top_k", [1.5, -3]],
        ["tokenizer_config.json", "chat_template", HOSTILE_TEMPLATES],
        ["tokenizer_config.json", "bos_token", [null, 5, { content: 7 }]],
      ] as const);
      const value = pick(r, values as readonly unknown[]);
      const json = JSON.parse(Buffer.from(s.files[file]).toString("utf8"));
      json[key] = value;
      if (file === "generation_config.json") json.do_sample = true;
      return { files: withFile(s, file, new TextEncoder().encode(JSON.stringify(json))), what: `${file} ${key} = ${JSON.stringify(value)?.slice(0, 60)}` };
    },
  },
  {
    name: "hf-tokenizer", kinds: ["hf"],
    apply(s, r) {
      const tj = JSON.parse(Buffer.from(s.files["tokenizer.json"]).toString("utf8"));
      const how = pick(r, ["dup-added", "drop-vocab", "bad-merge", "model-type", "added-out-of-range", "decoder"]);
      if (how === "dup-added") tj.added_tokens[2].id = tj.added_tokens[0].id;
      if (how === "drop-vocab") delete tj.model.vocab[pick(r, Object.keys(tj.model.vocab))];
      if (how === "bad-merge") tj.model.merges.push("zz qq");
      if (how === "model-type") tj.model.type = pick(r, ["WordLevel", "Unigram", 5]);
      if (how === "added-out-of-range") tj.added_tokens[0].id = 2 ** 30;
      if (how === "decoder") tj.decoder = pick(r, [null, { type: "Nope" }, { type: "Sequence" }]);
      return { files: withFile(s, "tokenizer.json", new TextEncoder().encode(JSON.stringify(tj))), what: how };
    },
  },
];

/** The tensors of a safetensors seed (a .dbllm's logical types, so scales can be found). */
function storedTensors(s: Seed) {
  const b = s.files[mainFile(s)];
  const { header, headerLength } = safetensorsParts(b);
  const md = header.__metadata__ as Record<string, string> | undefined;
  const types = md?.["dbllm.tensor_types"] ? JSON.parse(md["dbllm.tensor_types"]) as Record<string, { type: string }> : {};
  return Object.entries(header).filter(([k]) => k !== "__metadata__").map(([name, e]) => {
    const { dtype, data_offsets: [begin, end] } = e as { dtype: string; data_offsets: [number, number] };
    return { name, offset: 8 + headerLength + begin, byteLength: end - begin, type: typeFor(types[name]?.type ?? dtype) };
  });
}

const FLOAT_LAYOUT: Record<string, { blockBytes: number; floats: { kind: string; at: number[] } }> = {
  F32: { blockBytes: 4, floats: { kind: "f32", at: [0] } },
  F16: { blockBytes: 2, floats: { kind: "f16", at: [0] } },
  BF16: { blockBytes: 2, floats: { kind: "bf16", at: [0] } },
  Q8_0: { blockBytes: 34, floats: { kind: "f16", at: [0] } },
};

function typeFor(name: string): { name: string; blockBytes: number; floats?: { kind: string; at: number[] } } {
  const fdb = /^FDB2_G(\d+)$/.exec(name);
  if (fdb) { const g = Number(fdb[1]); return { name, blockBytes: g / 4 + 4, floats: { kind: "f16", at: [g / 4 + 2] } }; }
  return { name, ...(FLOAT_LAYOUT[name] ?? { blockBytes: 1 }) };
}

/** `count` mutants spread over the seeds, each from one operator that applies to its kind. */
export function makeMutants(seeds: Seed[], count: number, seed = 12): Mutant[] {
  const r = rng(seed);
  const out: Mutant[] = [];
  for (let i = 0; out.length < count; i++) {
    const s = seeds[i % seeds.length];
    const ops = OPS.filter((o) => o.kinds.includes(s.kind));
    const op = ops[Math.floor(i / seeds.length) % ops.length];
    const m = op.apply(s, r);
    if (m) out.push({ id: `${out.length}`, seed: s.name, kind: s.kind, op: `${op.name}: ${m.what}`, files: m.files });
  }
  return out;
}

export const OPERATOR_NAMES = OPS.map((o) => o.name);
