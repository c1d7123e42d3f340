// Regression tests for the holes a fuzz run found (issue 12), each built from one seed of the fuzz corpus
// (tests/fuzz/seeds/) damaged in one way: absurd sizes that used to exhaust memory, metadata that used to throw
// TypeErrors, damaged data that used to load silently (NaN weights and scales, overlapping or shifted tensors,
// config values the forward pass cannot run), lookups that saw Object.prototype, duplicate added-token ids and
// generation defaults that failed every later generate(). Each must now be a typed DbllmError, quickly.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError, loadModel, type DbllmErrorCode } from "../src/index.ts";
import { GGUFValueType as T } from "../src/formats/gguf.ts";
import { canonicalFromHF } from "../src/formats/hf-names.ts";
import { SEEDS_DIR } from "./fuzz/make-seeds.ts";
import { editDbllmJson, gguf, ggufTensorInfoAt, HOSTILE_TEMPLATES, poisonTensor, rewriteGGUF, rewriteSafetensors, safetensorsParts } from "./fuzz/mutate.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = workDir("malformed");
const seed = (name: string) => new Uint8Array(readFileSync(path.join(SEEDS_DIR, name)));
const F32 = seed("llama-f32.gguf"), Q8 = seed("qwen2-q8_0.gguf"), Q4 = seed("qwen3-q4_0.gguf");
const DBLLM = seed("fdb-gguf-tokenizer.dbllm"), DBLLM_HF = seed("fdb-hf-tokenizer.dbllm");

async function rejects(code: DbllmErrorCode, fn: () => Promise<unknown>, label: string, pattern?: RegExp): Promise<void> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (e) {
    const ms = performance.now() - t0;
    assert.instance(e, DbllmError, `${label}: threw ${String(e)} instead of a DbllmError`);
    assert.is((e as DbllmError).code, code, `${label}: code ${(e as DbllmError).code} (${(e as Error).message})`);
    if (pattern) assert.match((e as Error).message, pattern, label);
    console.log(`  ok ${label} → ${code} in ${ms.toFixed(0)} ms: ${(e as Error).message.slice(0, 160)}`);
    return;
  }
  assert.unreachable(`${label}: no error`);
}

/** A copy of the HF seed directory with some files replaced. */
function hfDir(name: string, files: Record<string, (json: Record<string, unknown>) => void>): string {
  const d = path.join(dir, name);
  rmSync(d, { recursive: true, force: true });
  cpSync(path.join(SEEDS_DIR, "llama3-hf"), d, { recursive: true });
  for (const [file, edit] of Object.entries(files)) {
    const json = JSON.parse(readFileSync(path.join(d, file), "utf8"));
    edit(json);
    writeFileSync(path.join(d, file), JSON.stringify(json));
  }
  return d;
}

const config = (edit: (c: Record<string, unknown>) => void) => editDbllmJson(DBLLM, "dbllm.config", (c) => { edit(c); });
const load = (bytes: Uint8Array) => loadModel(bytes, { threads: 1, contextLength: 64 });

test("absurd layer counts fail against the tensors present, before any allocation in proportion to them", async () => {
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await rejects("MISSING_TENSOR", () => load(rewriteGGUF(F32, (md) => { md["llama.block_count"] = { type: T.UINT32, value: 16777216 }; })), "GGUF block_count 2^24", /16777216 layers/);
  await rejects("MISSING_TENSOR", () => load(config((c) => { c.nLayers = 2 ** 24; })), ".dbllm nLayers 2^24");
  await rejects("MISSING_TENSOR", () => load(config((c) => { c.nLayers = 5; })), ".dbllm nLayers 5 with one layer's tensors", /blk\.1\./);
  const ms = performance.now() - t0, heap = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  console.log(`  three absurd layer counts refused in ${ms.toFixed(0)} ms, heap +${heap.toFixed(1)} MiB`);
  assert.ok(ms < 2000 && heap < 64, `${ms} ms, ${heap} MiB`);
});

test("a chat template that loops 10^8 times (GGUF, .dbllm, tokenizer_config.json) fails its budget within a second or so", async () => {
  const bomb = HOSTILE_TEMPLATES[0];
  const fromGGUF = await load(rewriteGGUF(F32, (md) => { md["tokenizer.chat_template"] = { type: T.STRING, value: bomb }; }));
  const fromDbllm = await load(editDbllmJson(DBLLM_HF, "dbllm.tokenizer", (t) => { (t.tokenizerConfig as Record<string, unknown>).chat_template = HOSTILE_TEMPLATES[1]; }));
  const fromHF = await loadModel(hfDir("template-bomb", { "tokenizer_config.json": (j) => { j.chat_template = HOSTILE_TEMPLATES[2]; } }), { threads: 1 });
  for (const [label, model] of [["GGUF range(10^8)", fromGGUF], [".dbllm nested loops 10^5 × 10^5", fromDbllm], ["tokenizer_config.json string doubling", fromHF]] as const) {
    const t0 = performance.now();
    await rejects("CHAT_TEMPLATE", () => model.chat([{ role: "user", content: "hi" }], { maxTokens: 1 }).done(), label, /budget/);
    assert.ok(performance.now() - t0 < 5000, `${label}: ${performance.now() - t0} ms`);
  }
});

test(".dbllm metadata of the wrong shape gives typed errors, not TypeError or SyntaxError", async () => {
  await rejects("INVALID_CONFIG", () => load(rewriteSafetensors(DBLLM, (h) => { (h.__metadata__ as Record<string, string>)["dbllm.config"] = "null"; })), "dbllm.config = null");
  await rejects("INVALID_CONFIG", () => load(config((c) => { c.ropeScaling = null; })), "ropeScaling null");
  const tokenizer = (edit: (md: Record<string, unknown>) => void) => editDbllmJson(DBLLM, "dbllm.tokenizer", (t) => { edit(t.metadata as Record<string, unknown>); });
  await rejects("TOKENIZER", () => load(tokenizer((md) => { md["tokenizer.ggml.tokens"] = null; })), "tokenizer.ggml.tokens entry null");
  await rejects("TOKENIZER", () => load(tokenizer((md) => { md["tokenizer.ggml.tokens"] = { t: "json", v: null }; })), "tokenizer.ggml.tokens value null");
  await rejects("TOKENIZER", () => load(tokenizer((md) => { md["tokenizer.ggml.bos_token_id"] = { t: "big", v: "notanumber" }; })), "a big value \"notanumber\"");
  await rejects("TOKENIZER", () => load(tokenizer((md) => { md["tokenizer.ggml.token_type"] = { t: "i32", v: [1.5] }; })), "an i32 array holding 1.5");
  await rejects("INVALID_FILE", () => load(editDbllmJson(DBLLM, "dbllm.tensor_types", () => null)), "dbllm.tensor_types = null");
});

test("NaN and ±Inf in F32 weights, Q8_0 / Q4_0 scales and FDB α are refused at load", async () => {
  const poisoned = (bytes: Uint8Array, name: string, value: "nan" | "inf", tensors = gguf(bytes).tensors) => poisonTensor(bytes, tensors.find((t) => t.name === name)!, 3, value);
  await rejects("NON_FINITE", () => load(poisoned(F32, "blk.0.ffn_up.weight", "nan")), "NaN in an F32 matrix", /ffn_up.*row 0/);
  await rejects("NON_FINITE", () => load(poisoned(F32, "output_norm.weight", "inf")), "Inf in an F32 norm");
  await rejects("NON_FINITE", () => load(poisoned(Q8, "blk.0.attn_q.weight", "nan")), "NaN Q8_0 scale");
  await rejects("NON_FINITE", () => load(poisoned(Q4, "token_embd.weight", "inf")), "Inf Q4_0 scale");
  const { header, headerLength } = safetensorsParts(DBLLM);
  const q = header["blk.0.attn_v.weight"] as { data_offsets: [number, number] };
  const fdb = { offset: 8 + headerLength + q.data_offsets[0], byteLength: q.data_offsets[1] - q.data_offsets[0], type: { name: "FDB2_G32", blockBytes: 12, floats: { kind: "f16", at: [10] } } };
  await rejects("NON_FINITE", () => load(poisonTensor(DBLLM, fdb, 5, "nan")), "NaN FDB α2");
});

test("overlapping tensor data (GGUF, .dbllm, safetensors) and a header length a few bytes short are refused", async () => {
  const f = gguf(F32);
  const setOffset = (bytes: Uint8Array, name: string, rel: number) => {
    const b = bytes.slice(), at = ggufTensorInfoAt(b, name), nd = new DataView(b.buffer).getUint32(at, true);
    new DataView(b.buffer).setBigUint64(at + 4 + 8 * nd + 4, BigInt(rel), true);
    return b;
  };
  let all = F32;
  for (const t of f.tensors) all = setOffset(all, t.name, 0);
  await rejects("INVALID_FILE", () => load(all), "GGUF: every tensor at offset 0", /overlaps/);
  const inside = f.tensors[1].offset - f.dataOffset + 32; // 32 bytes into the second tensor
  await rejects("INVALID_FILE", () => load(setOffset(F32, f.tensors[3].name, inside)), "GGUF: an offset moved into another tensor", /overlaps/);
  const overlap = (bytes: Uint8Array) => rewriteSafetensors(bytes, (h) => {
    const a = h["blk.0.ffn_up.weight"] as { data_offsets: number[] }, b = h["blk.0.ffn_gate.weight"] as { data_offsets: number[] };
    a.data_offsets = [...b.data_offsets];
  });
  await rejects("INVALID_FILE", () => load(overlap(DBLLM)), ".dbllm: two tensors on the same bytes");
  const hf = hfDir("overlap", {});
  writeFileSync(path.join(hf, "model.safetensors"), rewriteSafetensors(readFileSync(path.join(hf, "model.safetensors")), (h) => {
    const a = h["model.layers.0.mlp.up_proj.weight"] as { data_offsets: number[] }, b = h["model.layers.0.mlp.gate_proj.weight"] as { data_offsets: number[] };
    a.data_offsets = [...b.data_offsets];
  }));
  await rejects("INVALID_FILE", () => loadModel(hf, { threads: 1 }), "safetensors: two tensors on the same bytes");
  for (const short of [1, 3, 8]) {
    const b = DBLLM.slice();
    new DataView(b.buffer).setBigUint64(0, BigInt(safetensorsParts(DBLLM).headerLength - short), true);
    await rejects("INVALID_FILE", () => load(b), `.dbllm header length ${short} bytes short`, /multiple of 64|end at byte/);
  }
  // streamed (no size known, so no end to compare with): the 64-byte alignment of .dbllm data gives it away
  const short = DBLLM.slice();
  new DataView(short.buffer).setBigUint64(0, BigInt(safetensorsParts(DBLLM).headerLength - 3), true);
  await rejects("INVALID_FILE", () => loadModel(new Blob([short]).stream(), { threads: 1 }), ".dbllm streamed, header length 3 bytes short", /multiple of 64/);
  const shortHf = hfDir("short-header", {}), sb = new Uint8Array(readFileSync(path.join(shortHf, "model.safetensors")));
  new DataView(sb.buffer).setBigUint64(0, BigInt(safetensorsParts(sb).headerLength - 2), true);
  writeFileSync(path.join(shortHf, "model.safetensors"), sb);
  await rejects("INVALID_FILE", () => loadModel(shortHf, { threads: 1 }), "safetensors header length 2 bytes short");
});

test("configuration values the forward pass cannot run are refused (GGUF, .dbllm, config.json)", async () => {
  const ggufMeta = (key: string, value: number, type = T.FLOAT32) => rewriteGGUF(F32, (md) => {
    md[key] = { type, value } as never;
    if (key.includes("scaling.factor")) md["llama.rope.scaling.type"] = { type: T.STRING, value: "linear" };
  });
  for (const factor of [0, NaN, -1]) await rejects("INVALID_CONFIG", () => load(ggufMeta("llama.rope.scaling.factor", factor)), `GGUF rope scaling factor ${factor}`);
  await rejects("INVALID_CONFIG", () => load(ggufMeta("llama.rope.freq_base", Infinity)), "GGUF rope base +Inf");
  const llama3 = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 0 };
  await rejects("INVALID_CONFIG", () => load(config((c) => { c.ropeScaling = llama3; })), ".dbllm llama3 original context 0");
  await rejects("INVALID_CONFIG", () => load(config((c) => { c.ropeScaling = { ...llama3, originalContext: 32, highFreqFactor: 1 }; })), ".dbllm llama3 high = low frequency factor");
  const infinite = rewriteSafetensors(DBLLM, (h) => {
    const md = h.__metadata__ as Record<string, string>;
    md["dbllm.config"] = md["dbllm.config"].replace(/"ropeTheta":[^,]+/, "\"ropeTheta\":1e999"); // JSON.parse gives Infinity
  });
  await rejects("INVALID_CONFIG", () => load(infinite), ".dbllm rope base 1e999 (+Inf)", /Infinity/);
  for (const arch of ["gpt2", "__proto__", "constructor"]) {
    await rejects("UNSUPPORTED_ARCHITECTURE", () => load(config((c) => { c.architecture = arch; })), `.dbllm architecture ${JSON.stringify(arch)}`);
  }
  await rejects("INVALID_CONFIG", () => load(config((c) => { c.architecture = null; })), ".dbllm architecture null");
  await rejects("INVALID_CONFIG", () => load(config((c) => { c.ropeLayout = "weird"; })), ".dbllm ropeLayout weird");
  await rejects("INVALID_CONFIG", () => load(config((c) => { c.tiedEmbeddings = "yes"; })), ".dbllm tiedEmbeddings \"yes\"");
  await rejects("UNSUPPORTED_VERSION", () => load(rewriteSafetensors(DBLLM, (h) => { (h.__metadata__ as Record<string, string>)["dbllm.version"] = " 1"; })), ".dbllm version \" 1\"");
  await rejects("UNSUPPORTED_ARCHITECTURE", () => loadModel(hfDir("constructor", { "config.json": (c) => { c.architectures = ["constructor"]; } })), "HF architectures [\"constructor\"]");
  assert.is(canonicalFromHF("model.layers.0.constructor"), undefined, "HF tensor names are looked up as own keys too");
  await rejects("INVALID_ARGUMENT", () => loadModel(DBLLM, { threads: 1, kernel: "constructor" as never }), "kernel: \"constructor\"");
  await rejects("INVALID_CONFIG", () => loadModel(hfDir("llama3-zero", { "config.json": (c) => { (c.rope_scaling as Record<string, unknown>).original_max_position_embeddings = 0; } })), "HF llama3 original_max_position_embeddings 0");
  await rejects("INVALID_CONFIG", () => loadModel(hfDir("linear-neg", { "config.json": (c) => { c.rope_scaling = { type: "linear", factor: -1 }; } })), "HF linear rope scaling factor -1");
});

test("duplicate added-token ids and a generation_config with top_p 7 are refused at load", async () => {
  await rejects("TOKENIZER", () => loadModel(hfDir("dup-added", { "tokenizer.json": (t) => {
    const added = t.added_tokens as { id: number }[];
    added[2].id = added[1].id;
  } })), "two added tokens with one id", /already has/);
  await rejects("TOKENIZER", () => load(editDbllmJson(DBLLM_HF, "dbllm.tokenizer", (t) => {
    const added = (t.tokenizerJson as { added_tokens: { id: number }[] }).added_tokens;
    added[0].id = added[1].id;
  })), ".dbllm HF tokenizer with duplicate added-token ids");
  await rejects("INVALID_CONFIG", () => loadModel(hfDir("top-p", { "generation_config.json": (g) => { g.do_sample = true; g.top_p = 7; } })), "generation_config top_p 7", /topP/);
  await rejects("INVALID_CONFIG", () => loadModel(hfDir("temperature", { "generation_config.json": (g) => { g.do_sample = true; g.temperature = "hot"; } })), "generation_config temperature \"hot\"");
  // valid defaults still load and are used
  const ok = await loadModel(hfDir("top-p-ok", { "generation_config.json": (g) => { g.do_sample = true; g.top_p = 0.9; g.temperature = 0.6; } }), { threads: 1 });
  const r = await ok.generate("hello", { maxTokens: 2, seed: 1 }).done();
  assert.ok(r.tokens.length > 0 || r.stats.stopReason === "eos");
});

test.run();
