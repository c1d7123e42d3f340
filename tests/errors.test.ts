// Bad input gets a typed DbllmError with the right code — never a crash, a hang or silent garbage.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError, loadModel, type DbllmErrorCode } from "../src/index.ts";
import { readGGUF } from "../src/formats/gguf.ts";
import { meta, writeGGUF } from "../src/formats/gguf-write.ts";
import { bufferSource } from "../src/bytes/source.ts";
import { typeByName } from "../src/quant/table.ts";
import { buildRandomModel } from "./helpers/random-model.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = workDir("errors");
const built = buildRandomModel(dir, { arch: "llama", dim: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, ffnDim: 64, tied: true, merges: 40, seed: 5, contextLength: 64 });
const good = new Uint8Array(readFileSync(built.gguf));

async function rejects(code: DbllmErrorCode, fn: () => Promise<unknown>, label: string): Promise<DbllmError> {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, DbllmError, `${label}: threw ${String(e)} instead of a DbllmError`);
    assert.is((e as DbllmError).code, code, `${label}: code ${(e as DbllmError).code} (${(e as Error).message})`);
    console.log(`  ok ${label} → ${code}: ${(e as Error).message}`);
    return e as DbllmError;
  }
  assert.unreachable(`${label}: no error`);
  throw new Error("unreachable");
}

/** Offsets of the parts of the good file, from our own parser. */
const layout = await readGGUF(bufferSource(good));

test("truncated GGUF files: in the header, in the metadata, in the tensor infos, in the data", async () => {
  const cuts = [3, 10, 30, 200, layout.dataOffset - 8, layout.dataOffset + 10, good.length - 1];
  for (const n of cuts) await rejects("TRUNCATED_FILE", () => loadModel(good.slice(0, n)), `cut at ${n} of ${good.length}`);
});

test("corrupt GGUF: bad magic, bad version, big-endian, invalid UTF-8 key, bad bool", async () => {
  const bad = good.slice(); bad[0] = 0x48;
  await rejects("INVALID_FILE", () => loadModel(bad), "bad magic");
  const v = good.slice(); new DataView(v.buffer).setUint32(4, 7, true);
  await rejects("UNSUPPORTED_VERSION", () => loadModel(v), "version 7");
  const be = good.slice(); new DataView(be.buffer).setUint32(4, 3, false);
  await rejects("UNSUPPORTED_VERSION", () => loadModel(be), "big-endian version");
  const u = good.slice(); u[24 + 8] = 0xff; // first byte of the first key
  await rejects("INVALID_FILE", () => loadModel(u), "invalid UTF-8 in a key");
});

test("absurd sizes in headers are rejected before allocating", async () => {
  const huge = good.slice(); new DataView(huge.buffer).setBigUint64(8, 1n << 50n, true);
  await rejects("SIZE_LIMIT", () => loadModel(huge), "tensor count 2^50");
  const kv = good.slice(); new DataView(kv.buffer).setBigUint64(16, 1n << 19n, true);
  await rejects("TRUNCATED_FILE", () => loadModel(kv), "metadata count beyond the file");
  const s = good.slice(); new DataView(s.buffer).setBigUint64(24, 1n << 40n, true); // first key's length
  await rejects("SIZE_LIMIT", () => loadModel(s), "key length 2^40");
  // an array claiming 2^33 elements
  const arr = writeGGUF({ "general.architecture": meta.str("llama"), "x.arr": meta.f32s(new Float32Array(4)) }, []);
  const bytes = new Uint8Array(Buffer.concat([...arr]));
  const at = Buffer.from(bytes).indexOf(Buffer.from("x.arr")) + 5 + 4 + 4; // key, value type, element type
  new DataView(bytes.buffer).setBigUint64(at, 1n << 33n, true);
  await rejects("TRUNCATED_FILE", () => loadModel(bytes), "array of 2^33 floats");
  // safetensors header length 2^40
  const st = new Uint8Array(64); new DataView(st.buffer).setBigUint64(0, 1n << 40n, true); st[8] = 0x7b;
  const hfDir = path.join(dir, "hf-bad"); rmSync(hfDir, { recursive: true, force: true });
  cpSync(built.hfDir, hfDir, { recursive: true });
  writeFileSync(path.join(hfDir, "model.safetensors"), st);
  await rejects("SIZE_LIMIT", () => loadModel(hfDir), "safetensors header of 2^40 bytes");
  const st2 = new Uint8Array(64); new DataView(st2.buffer).setBigUint64(0, 40n, true); st2.set(Buffer.from("{not json"), 8);
  writeFileSync(path.join(hfDir, "model.safetensors"), st2);
  await rejects("INVALID_FILE", () => loadModel(hfDir), "safetensors header that is not JSON");
  const orig = readFileSync(path.join(built.hfDir, "model.safetensors"));
  writeFileSync(path.join(hfDir, "model.safetensors"), orig.subarray(0, orig.length - 100));
  await rejects("TRUNCATED_FILE", () => loadModel(hfDir), "truncated safetensors data");
});

function rewrite(mutate: (md: Record<string, ReturnType<typeof meta.str>>, tensors: { name: string; type: ReturnType<typeof typeByName>; shape: number[]; data: Uint8Array }[]) => void): Uint8Array {
  const f = layout;
  const md: Record<string, ReturnType<typeof meta.str>> = {};
  for (const [k, v] of f.metadata) {
    if (typeof v === "string") md[k] = meta.str(v);
    else if (typeof v === "number") md[k] = Number.isInteger(v) ? meta.u32(v) : meta.f32(v);
    else if (typeof v === "boolean") md[k] = meta.bool(v);
    else if (Array.isArray(v) && typeof v[0] === "string") md[k] = meta.strings(v as string[]);
    else if (v instanceof Int32Array) md[k] = meta.i32s(v);
  }
  const tensors = f.tensors.map((t) => ({ name: t.name, type: t.type, shape: [...t.shape], data: good.slice(t.offset, t.offset + t.byteLength) }));
  mutate(md, tensors);
  return new Uint8Array(Buffer.concat([...writeGGUF(md, tensors.map((t) => ({ ...t, type: t.type! })))]));
}

test("unknown architecture, unknown or unreadable tensor types, missing and mis-shaped tensors", async () => {
  await rejects("UNSUPPORTED_ARCHITECTURE", () => loadModel(rewrite((md) => { md["general.architecture"] = meta.str("gptneox"); })), "architecture gptneox");
  await rejects("UNSUPPORTED_TENSOR_TYPE", () => loadModel(rewrite((_, ts) => {
    const t = ts.find((x) => x.name === "blk.0.ffn_up.weight")!;
    t.type = typeByName("Q5_0"); t.data = new Uint8Array((64 * 32 / 32) * 22);
  })), "a Q5_0 tensor");
  await rejects("MISSING_TENSOR", () => loadModel(rewrite((_, ts) => { ts.splice(ts.findIndex((x) => x.name === "blk.0.attn_k.weight"), 1); })), "missing attn_k");
  await rejects("TENSOR_SHAPE", () => loadModel(rewrite((_, ts) => {
    const t = ts.find((x) => x.name === "blk.0.ffn_up.weight")!;
    t.shape = [32, 64];
  })), "ffn_up of the wrong shape");
  // a GGML type id nobody knows
  const unk = rewrite(() => {});
  const name = Buffer.from("blk.0.ffn_gate.weight");
  const at = Buffer.from(unk).indexOf(name, 24) + name.length + 4 + 16; // name, n_dims, 2 dims → type
  new DataView(unk.buffer).setUint32(at, 99, true);
  await rejects("UNSUPPORTED_TENSOR_TYPE", () => loadModel(unk), "GGML type 99");
  // … which is no reason to refuse a file that holds it in a tensor the model does not use
  const extra = rewrite((_, ts) => { ts.push({ name: "extra.future", type: { name: "future", ggml: 99, blockSize: 1, blockBytes: 1 }, shape: [8], data: new Uint8Array(8) }); });
  (await loadModel(extra, { threads: 1 })).dispose();
  // a safetensors dtype dbllm has no row for, in a tensor the model needs
  const stDir = path.join(dir, "hf-f8"); rmSync(stDir, { recursive: true, force: true });
  cpSync(built.hfDir, stDir, { recursive: true });
  const shard = readFileSync(path.join(stDir, "model.safetensors")), n = Number(shard.readBigUInt64LE(0));
  const header = JSON.parse(shard.subarray(8, 8 + n).toString());
  header["model.layers.0.mlp.up_proj.weight"].dtype = "F8_E4M3";
  const json = Buffer.from(JSON.stringify(header)), len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path.join(stDir, "model.safetensors"), Buffer.concat([len, json, shard.subarray(8 + n)]));
  const f8 = await rejects("UNSUPPORTED_TENSOR_TYPE", () => loadModel(stDir), "a safetensors F8_E4M3 tensor");
  assert.match(f8.message, "blk.0.ffn_up.weight has type F8_E4M3");
  const cfgDir = path.join(dir, "hf-arch"); rmSync(cfgDir, { recursive: true, force: true });
  cpSync(built.hfDir, cfgDir, { recursive: true });
  const cfg = JSON.parse(readFileSync(path.join(cfgDir, "config.json"), "utf8"));
  writeFileSync(path.join(cfgDir, "config.json"), JSON.stringify({ ...cfg, architectures: ["BertModel"] }));
  await rejects("UNSUPPORTED_ARCHITECTURE", () => loadModel(cfgDir), "HF BertModel");
  rmSync(path.join(cfgDir, "tokenizer.json"));
  writeFileSync(path.join(cfgDir, "config.json"), JSON.stringify(cfg));
  await rejects("TOKENIZER", () => loadModel(cfgDir), "HF directory without tokenizer.json");
  await rejects("NOT_FOUND", () => loadModel(path.join(dir, "nope.gguf")), "missing file");
  await rejects("INVALID_FILE", () => loadModel(new Uint8Array(100).fill(7)), "random bytes");
});

test("options are checked before any I/O: a bad option wins over a file that does not exist", async () => {
  const nowhere = path.join(dir, "no-such-model.gguf");
  const bad: [string, Record<string, unknown>][] = [
    ["kernel", { kernel: "fastest" }], ["simd", { simd: "sse" }], ["cache", { cache: "opsf" }], ["fetch", { fetch: "curl" }],
    ["onProgress", { onProgress: 1 }], ["threads", { threads: 0 }], ["batchSize", { batchSize: 0 }], ["contextLength", { contextLength: -1 }],
    ["wasmModules", { wasmModules: { fast: 1 } }], ["threadSplitting", { threadSplitting: "sometimes" }],
  ];
  for (const [name, o] of bad) {
    const e = await rejects("INVALID_ARGUMENT", () => loadModel(nowhere, o as never), `${name}: ${JSON.stringify(o)}`);
    assert.match(e.message, name);
  }
  await rejects("NOT_FOUND", () => loadModel(nowhere, { kernel: "lut", simd: "auto", cache: false }), "good options, missing file");
});

test("prompts: empty, longer than the context, ids outside the vocabulary, lone surrogates; abort mid-stream", async () => {
  const model = await loadModel(built.gguf, { contextLength: 32 });
  await rejects("EMPTY_PROMPT", () => model.generate("").done(), "empty string prompt");
  await rejects("EMPTY_PROMPT", () => model.generate([]).done(), "empty id prompt");
  await rejects("EMPTY_PROMPT", () => model.createSession().evaluate([]), "evaluate([])");
  await rejects("CONTEXT_OVERFLOW", () => model.generate(Array.from({ length: 33 }, () => 5)).done(), "33 tokens in a 32-token context");
  await rejects("CONTEXT_OVERFLOW", () => model.generate([5, 6], { maxTokens: 100, temperature: 0, onContextFull: "error" }).done().then((r) => {
    if (r.stats.stopReason === "eos") throw new DbllmError("CONTEXT_OVERFLOW", "(model stopped early; treat as covered)");
    return r;
  }), "generation running past the context with onContextFull: 'error'");
  await rejects("INVALID_ARGUMENT", () => model.generate([1, 99999]).done(), "token id outside the vocabulary");
  await rejects("INVALID_TEXT", () => model.generate("abc\ud800def").done(), "lone surrogate");
  await rejects("INVALID_ARGUMENT", () => model.generate("hi", { temperature: -1 }).done(), "negative temperature");
  await rejects("INVALID_ARGUMENT", () => model.generate("hi", { topP: 2 }).done(), "topP 2");
  // abort after the third chunk; the session stays usable
  const controller = new AbortController();
  let chunks = 0;
  await rejects("ABORTED", async () => {
    for await (const _ of model.generate([5, 6, 7], { signal: controller.signal, temperature: 0, maxTokens: 20, onContextFull: "slide" })) {
      void _;
      if (++chunks === 3) controller.abort();
    }
  }, "abort mid-stream");
  assert.is(chunks, 3);
  const again = await model.generate([5, 6, 7], { temperature: 0, maxTokens: 4 }).done();
  assert.ok(again.tokens.length > 0 || again.stats.stopReason === "eos");
  const pre = new AbortController(); pre.abort();
  await rejects("ABORTED", () => loadModel(built.gguf, { signal: pre.signal }), "load with an aborted signal");
});

test("an abort during a long prompt takes effect between prefill batches; Response and ReadableStream sources load", async () => {
  const model = await loadModel(built.gguf, { contextLength: 64, batchSize: 4 });
  const controller = new AbortController();
  const stream = model.generate(Array.from({ length: 60 }, (_, i) => 5 + (i % 30)), { signal: controller.signal, maxTokens: 4 });
  setImmediate(() => controller.abort()); // fires after the first prefill batch, while 14 more remain
  await rejects("ABORTED", () => stream.done(), "abort during prefill");
  const fromResponse = await loadModel(new Response(good));
  const fromStream = await loadModel(new Blob([good]).stream());
  const ids = [5, 6, 7];
  const a = await fromResponse.createSession().evaluate(ids), b = await fromStream.createSession().evaluate(ids);
  assert.equal(Array.from(a), Array.from(b));
  await rejects("IO", () => loadModel(new Response("missing", { status: 404 })), "a 404 Response");
});

test("sliding the context keeps generating past its end", async () => {
  const model = await loadModel(built.gguf, { contextLength: 16 });
  const r = await model.generate([5, 6, 7, 8], { temperature: 0.9, seed: 3, maxTokens: 40, onContextFull: "slide" }).done();
  // with a 16-token context, 40 tokens are only possible by sliding (unless the model ended earlier)
  assert.ok(r.tokens.length === 40 || r.stats.stopReason === "eos", `stopped after ${r.tokens.length}: ${r.stats.stopReason}`);
  const s = await model.generate([5, 6, 7, 8], { temperature: 0.9, seed: 3, maxTokens: 40 }).done();
  // 4 prompt + 12 evaluated tokens fill the 16 positions; the 13th is sampled from the last logits
  assert.ok(s.tokens.length <= 13, `default policy stops at the end of the context (${s.tokens.length})`);
  assert.ok(s.stats.stopReason === "context_full" || s.stats.stopReason === "eos");
});

test.run();
