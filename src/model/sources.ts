// Opens whatever the user passed to loadModel — a GGUF file, a Hugging Face directory, a URL, an
// ArrayBuffer or a Blob — and describes it uniformly: configuration, tokenizer, and where each canonical
// tensor lives. No tensor data is read here.
import { platform } from "#platform";
import { DbllmError } from "../errors.ts";
import { GGUFMeta, isGGUF, readGGUF } from "../formats/gguf.ts";
import { interpretDbllm, isDbllm } from "../formats/dbllm.ts";
import { looksLikeSafetensors, readSafetensors } from "../formats/safetensors.ts";
import { blobSource, bufferSource, streamSource, type ByteSource } from "../formats/source.ts";
import type { TensorInfo } from "../formats/tensor-info.ts";
import { samplingProblem } from "../generate/options.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import { Tokenizer } from "../tokenizer/index.ts";
import { configFromGGUF, configFromHF, type ModelConfig } from "./config.ts";
import { canonicalFromHF } from "./weights.ts";

export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response | ReadableStream<Uint8Array>;

export interface TensorRef {
  info: TensorInfo;
  /** Index into OpenedModel.files. */
  file: number;
}

export interface OpenedModel {
  format: "gguf" | "hf" | "dbllm";
  name: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  tensors: Map<string, TensorRef>;
  /** Open sources, one per file (tensors of a file are read in offset order). */
  files: ByteSource[];
  /** Descriptive metadata for model.info(). */
  metadata: Record<string, unknown>;
  /** Sampling defaults from generation_config.json. */
  samplingDefaults: Partial<SamplingOptions>;
}

export interface OpenOptions {
  signal?: AbortSignal;
  fetch?: typeof fetch;
  cache?: boolean | "cache-api" | "opfs";
}

export async function openModel(source: ModelSource, options: OpenOptions = {}): Promise<OpenedModel> {
  const model = await openSource(source, options);
  // A token the embedding has no row for would fail generation long after loading.
  if (model.tokenizer.vocabSize > model.config.vocabSize) {
    await Promise.all(model.files.map((f) => f.close()));
    throw new DbllmError("TOKENIZER", `${model.name}: the tokenizer has ${model.tokenizer.vocabSize} tokens but the model only ${model.config.vocabSize} embeddings`);
  }
  return model;
}

async function openSource(source: ModelSource, options: OpenOptions): Promise<OpenedModel> {
  if (typeof source === "string" || source instanceof URL) {
    const s = source.toString();
    if (typeof source === "string" && platform.isLocalPath(s)) {
      if (await platform.isDirectory(s)) return openHFDirectory(s);
      return openSingle(await platform.openFile(s));
    }
    return openSingle(await platform.openUrl(s, options));
  }
  if (typeof Blob !== "undefined" && source instanceof Blob) return openSingle(blobSource(source, (source as File).name || "blob"));
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.ok || !source.body) throw new DbllmError("IO", `the response is not usable as a model (HTTP ${source.status})`);
    const n = source.headers.get("content-length");
    return openSingle(streamSource(source.body, source.url || "response", n && !source.headers.get("content-encoding") ? Number(n) : undefined, options.signal));
  }
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) return openSingle(streamSource(source, "stream", undefined, options.signal));
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return openSingle(bufferSource(source));
  throw new DbllmError("INVALID_ARGUMENT", "loadModel expects a path, URL, ArrayBuffer, typed array, Blob, Response or ReadableStream");
}

async function openSingle(src: ByteSource): Promise<OpenedModel> {
  try {
    const head = await src.read(0, 16);
    if (head.byteLength < 16) throw new DbllmError("TRUNCATED_FILE", `${src.name} is only ${head.byteLength} bytes long`);
    if (isGGUF(head)) return await openGGUF(src);
    if (looksLikeSafetensors(head)) {
      const st = await readSafetensors(src);
      if (isDbllm(st)) return openDbllm(src, st);
      throw new DbllmError("INVALID_FILE", `${src.name} is a bare safetensors file without config or tokenizer; load its Hugging Face directory instead`);
    }
    throw new DbllmError("INVALID_FILE", `${src.name} is not a model file dbllm reads (expected GGUF, a .dbllm file or a Hugging Face directory)`);
  } catch (e) {
    await src.close();
    throw e;
  }
}

async function openGGUF(src: ByteSource): Promise<OpenedModel> {
  const file = await readGGUF(src);
  const meta = new GGUFMeta(file.metadata, src.name);
  const names = new Set(file.tensors.map((t) => t.name));
  const embd = file.tensors.find((t) => t.name === "token_embd.weight");
  const config = configFromGGUF(meta, names, embd?.shape[0]);
  const tokenizer = Tokenizer.fromGGUF(meta);
  const tensors = new Map(file.tensors.map((info) => [info.name, { info, file: 0 }]));
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of file.metadata) if (!k.startsWith("tokenizer.ggml.") && (typeof v !== "object")) metadata[k] = v;
  return { format: "gguf", name: src.name, config, tokenizer, tensors, files: [src], metadata, samplingDefaults: {} };
}

function openDbllm(src: ByteSource, st: Awaited<ReturnType<typeof readSafetensors>>): OpenedModel {
  const d = interpretDbllm(st, src.name);
  const tokenizer = Tokenizer.deserialize(d.tokenizer, `${src.name} tokenizer`);
  const tensors = new Map(d.tensors.map((info) => [info.name, { info, file: 0 }]));
  const metadata: Record<string, unknown> = { "dbllm.quantization": d.quantization, "dbllm.provenance": d.provenance };
  return { format: "dbllm", name: src.name, config: d.config, tokenizer, tensors, files: [src], metadata, samplingDefaults: {} };
}

async function readJSON(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  if (!(await platform.exists(path))) {
    if (required) throw new DbllmError("NOT_FOUND", `${path} is missing`);
    return undefined;
  }
  const text = await platform.readText(path);
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v;
  } catch (e) {
    throw new DbllmError("INVALID_CONFIG", `${path} is not a valid JSON object: ${(e as Error).message}`);
  }
}

async function openHFDirectory(dir: string): Promise<OpenedModel> {
  const j = (name: string) => platform.join(dir, name);
  const cfg = (await readJSON(j("config.json"), true))!;
  const config = configFromHF(cfg, j("config.json"));
  const tokJson = await readJSON(j("tokenizer.json"), false);
  if (!tokJson) throw new DbllmError("TOKENIZER", `${dir} has no tokenizer.json (dbllm needs the fast-tokenizer file)`);
  const tokConfig = (await readJSON(j("tokenizer_config.json"), false)) ?? {};
  if (await platform.exists(j("chat_template.jinja"))) tokConfig.chat_template = await platform.readText(j("chat_template.jinja"));
  const genConfig = await readJSON(j("generation_config.json"), false);
  const tokenizer = Tokenizer.fromHF(tokJson, tokConfig, genConfig);
  const samplingDefaults = samplingFromHF(genConfig, j("generation_config.json"));

  let shardNames: string[];
  const index = await readJSON(j("model.safetensors.index.json"), false);
  if (index) {
    const map = index.weight_map as Record<string, unknown> | undefined;
    if (!map || typeof map !== "object") throw new DbllmError("INVALID_CONFIG", `${j("model.safetensors.index.json")} has no weight_map`);
    shardNames = [...new Set(Object.values(map))].map((v) => {
      if (typeof v !== "string" || v.includes("/") || v.includes("\\") || v.startsWith(".")) {
        throw new DbllmError("INVALID_CONFIG", `${j("model.safetensors.index.json")} names an invalid shard ${JSON.stringify(v)}`);
      }
      return v;
    });
  } else if (await platform.exists(j("model.safetensors"))) shardNames = ["model.safetensors"];
  else throw new DbllmError("NOT_FOUND", `${dir} has neither model.safetensors nor model.safetensors.index.json`);

  const files: ByteSource[] = [];
  const tensors = new Map<string, TensorRef>();
  try {
    for (const shard of shardNames) {
      const src = await platform.openFile(j(shard));
      files.push(src);
      const st = await readSafetensors(src);
      for (const info of st.tensors) {
        const canonical = canonicalFromHF(info.name);
        if (!canonical) continue;
        if (tensors.has(canonical)) throw new DbllmError("INVALID_FILE", `${dir}: tensor ${info.name} appears in two shards`);
        tensors.set(canonical, { info, file: files.length - 1 });
      }
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
  const metadata: Record<string, unknown> = { "hf.architectures": cfg.architectures, "hf.torch_dtype": cfg.torch_dtype, "hf.model_type": cfg.model_type };
  return { format: "hf", name: dir, config, tokenizer, tensors, files, metadata, samplingDefaults };
}

/**
 * Sampling defaults a model ships in generation_config.json (ignored when it asks for greedy decoding), checked
 * here: a top_p of 7 must fail the load, not every later generate().
 */
function samplingFromHF(g: Record<string, unknown> | undefined, origin: string): Partial<SamplingOptions> {
  if (!g || g.do_sample === false) return {};
  const out: Partial<SamplingOptions> = {};
  const take = (key: string, name: keyof SamplingOptions) => {
    const v = g[key];
    if (v === undefined || v === null) return;
    if (typeof v !== "number") throw new DbllmError("INVALID_CONFIG", `${origin}: ${key} is ${JSON.stringify(v)}, not a number`);
    out[name] = v;
  };
  take("temperature", "temperature");
  take("top_p", "topP");
  take("top_k", "topK");
  take("min_p", "minP");
  take("repetition_penalty", "repetitionPenalty");
  const problem = samplingProblem(out);
  if (problem) throw new DbllmError("INVALID_CONFIG", `${origin}: ${problem}`);
  return out;
}
