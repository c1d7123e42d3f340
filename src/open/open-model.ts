// Opens whatever the user passed to loadModel — a GGUF file, a Hugging Face directory (hf-dir.ts), a URL, an
// ArrayBuffer or a Blob — by the format its first bytes show, and describes it uniformly: configuration,
// tokenizer, and where each canonical tensor lives. No tensor data is read here.
import { platform } from "#platform";
import { blobSource, bufferSource, streamSource, type ByteSource } from "../bytes/source.ts";
import { configFromGGUF } from "../config/from-gguf.ts";
import { DbllmError } from "../errors.ts";
import { interpretDbllm, isDbllm } from "../formats/dbllm.ts";
import { GGUFMeta, isGGUF, readGGUF } from "../formats/gguf.ts";
import { looksLikeSafetensors, readSafetensors } from "../formats/safetensors.ts";
import { Tokenizer } from "../tokenizer/index.ts";
import { openHFDirectory } from "./hf-dir.ts";
import type { ModelSource, OpenedModel, OpenOptions } from "./types.ts";

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
    const { name, size } = describeResponse(source);
    return openSingle(streamSource(source.body!, name, size, options.signal));
  }
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) return openSingle(streamSource(source, "stream", undefined, options.signal));
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return openSingle(bufferSource(source));
  throw unknownSource();
}

/** How a Response source is named and sized (its length, unless compressed); IO when it has no usable body. */
export function describeResponse(r: Response): { name: string; size: number | undefined } {
  if (!r.ok || !r.body) throw new DbllmError("IO", `the response is not usable as a model (HTTP ${r.status})`);
  const n = r.headers.get("content-length");
  return { name: r.url || "response", size: n && !r.headers.get("content-encoding") ? Number(n) : undefined };
}

export function unknownSource(): DbllmError {
  return new DbllmError("INVALID_ARGUMENT", "loadModel expects a path, URL, ArrayBuffer, typed array, Blob, Response or ReadableStream");
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
  const unreadable = new Map(file.unreadable.map((t) => [t.name, t.typeName]));
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of file.metadata) if (!k.startsWith("tokenizer.ggml.") && (typeof v !== "object")) metadata[k] = v;
  return { format: "gguf", name: src.name, config, tokenizer, tensors, unreadable, files: [src], metadata, samplingDefaults: {} };
}

function openDbllm(src: ByteSource, st: Awaited<ReturnType<typeof readSafetensors>>): OpenedModel {
  const d = interpretDbllm(st, src.name);
  const tokenizer = Tokenizer.deserialize(d.tokenizer, `${src.name} tokenizer`);
  const tensors = new Map(d.tensors.map((info) => [info.name, { info, file: 0 }]));
  const unreadable = new Map(st.unreadable.map((t) => [t.name, t.typeName]));
  const metadata: Record<string, unknown> = { "dbllm.quantization": d.quantization, "dbllm.provenance": d.provenance };
  return { format: "dbllm", name: src.name, config: d.config, tokenizer, tensors, unreadable, files: [src], metadata, samplingDefaults: {} };
}
