// Streams the tensors of an opened model into wasm memory. Every tensor is checked (present, right shape,
// readable type) and the whole allocation is sized before the first data byte is read; data are then read in
// file order, a bounded chunk of rows at a time, decoded to f32 and packed into the runtime format — so the
// weights are never held twice, whatever the source.
import type { Engine } from "../engine/engine.ts";
import { DbllmError } from "../errors.ts";
import type { ByteSource } from "../bytes/source.ts";
import { tensorRowChunks } from "../formats/tensor-rows.ts";
import type { FdbKernel, Linear } from "../quant/runtime.ts";
import { requireDecodable, runtimeFor, unreadableType, type RuntimeChoice } from "../quant/table.ts";
import type { OpenedModel, TensorRef } from "../open/types.ts";
import { weightSpecs, type TensorSpec, type Weights } from "./weights.ts";

export interface LoadProgress {
  /** Tensor bytes read so far and in total. */
  loaded: number;
  total: number;
  /** loaded / total, 0..1 */
  fraction: number;
}

export interface PlaceOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** Kernel for fdb2 matrices (default 'auto'). */
  fdbKernel?: FdbKernel;
}

export interface PlacedWeights {
  weights: Weights;
  ropeFreqs?: Float32Array;
  /** Bytes of wasm memory the weights occupy. */
  bytes: number;
}

const CHUNK_BYTES = 8 << 20;

interface Job {
  spec: TensorSpec;
  ref: TensorRef;
  /** Destination: a matrix in wasm, an f32 vector in wasm, or a JS array. */
  linear?: Linear;
  vector?: number;
  js?: Float32Array;
}

/** Pairs every tensor the architecture needs with the file tensor that provides it; checks names and shapes. */
export function matchTensors(model: OpenedModel): { spec: TensorSpec; ref: TensorRef }[] {
  const out: { spec: TensorSpec; ref: TensorRef }[] = [];
  const layers = model.config.nLayers;
  // Every layer has several tensors: a layer count beyond the tensor count is a damaged header, not a model.
  if (layers > model.tensors.size) {
    throw new DbllmError("MISSING_TENSOR", `${model.name}: the configuration has ${layers} layers but the file holds only ${model.tensors.size} tensors`);
  }
  for (const spec of weightSpecs(model.config)) {
    const ref = model.tensors.get(spec.name);
    if (!ref) {
      const typeName = model.unreadable.get(spec.name);
      if (typeName !== undefined) throw unreadableType(spec.name, typeName);
      if (spec.optional) continue;
      const block = spec.name.startsWith("blk.") ? ` (the configuration has ${layers} layers)` : "";
      throw new DbllmError("MISSING_TENSOR", `${model.name}: tensor ${spec.name} is missing${block}`);
    }
    const shape = ref.info.shape;
    const sameShape = shape.length === spec.shape.length && shape.every((d, i) => d === spec.shape[i]);
    // A vector may be stored as [1, n] by some exporters.
    const vectorOk = spec.shape.length === 1 && shape.length === 2 && shape[0] === 1 && shape[1] === spec.shape[0];
    if (!sameShape && !vectorOk) {
      throw new DbllmError("TENSOR_SHAPE", `${model.name}: tensor ${spec.name} has shape [${shape.join(", ")}], expected [${spec.shape.join(", ")}]`);
    }
    out.push({ spec, ref });
  }
  return out;
}

/** How a matrix runs, as its type's row says (tensors of other roles are f32 vectors). */
function runtimeOf(spec: TensorSpec, ref: TensorRef, kernel: FdbKernel = "auto"): RuntimeChoice {
  return runtimeFor(ref.info.type, kernel, spec.role === "embed" ? "embedding" : "matrix", spec.name);
}

const isMatrix = (spec: TensorSpec) => spec.role === "linear" || spec.role === "embed";

/** Bytes the weights will occupy in wasm memory (as packed), and bytes of tensor data to read. */
function sizeJobs(jobs: { spec: TensorSpec; ref: TensorRef }[], kernel?: FdbKernel): { total: number; tensorBytes: number } {
  let total = 0, tensorBytes = 0;
  for (const job of jobs) {
    tensorBytes += job.ref.info.byteLength;
    if (isMatrix(job.spec)) {
      const { format, group } = runtimeOf(job.spec, job.ref, kernel);
      total += format.bytes(job.spec.shape[0], job.spec.shape[1], group);
    } else {
      requireDecodable(job.ref.info.type, job.spec.name);
      total += job.spec.shape[0] * 4;
    }
  }
  return { total, tensorBytes };
}

/** Bytes of wasm memory the model's weights will take once loaded with these formats. */
export function weightBytes(model: OpenedModel, kernel?: FdbKernel): number {
  return sizeJobs(matchTensors(model), kernel).total;
}

export async function placeWeights(engine: Engine, model: OpenedModel, options: PlaceOptions = {}): Promise<PlacedWeights> {
  const jobs: Job[] = matchTensors(model);

  // Size everything before reading data.
  const { total, tensorBytes } = sizeJobs(jobs, options.fdbKernel);
  const limit = 4 * 2 ** 30 - engine.memory.buffer.byteLength;
  if (total > limit) {
    throw new DbllmError("OUT_OF_MEMORY", `${model.name}: the weights need ${(total / 2 ** 20).toFixed(0)} MiB of wasm memory as loaded, more than the 4 GiB wasm32 limit; use a quantized .dbllm file`);
  }

  const allocated: number[] = [];
  try {
    for (const job of jobs) {
      const [rows, cols] = job.spec.shape;
      if (job.spec.name === "rope_freqs.weight") job.js = new Float32Array(rows);
      else if (isMatrix(job.spec)) {
        const { format, group } = runtimeOf(job.spec, job.ref, options.fdbKernel);
        const ptr = engine.arena.alloc(format.bytes(rows, cols, group), job.spec.name);
        allocated.push(ptr);
        job.linear = { format, ptr, rows, cols, group, bias: 0 };
      } else {
        job.vector = engine.arena.alloc(rows * 4, job.spec.name);
        allocated.push(job.vector);
      }
    }

    let loaded = 0;
    const report = () => options.onProgress?.({ loaded, total: tensorBytes, fraction: tensorBytes ? loaded / tensorBytes : 1 });
    report();
    const byFile = new Map<number, Job[]>();
    for (const job of jobs) byFile.set(job.ref.file, [...(byFile.get(job.ref.file) ?? []), job]);
    for (const [file, list] of byFile) {
      list.sort((a, b) => a.ref.info.offset - b.ref.info.offset);
      const src = model.files[file];
      for (const job of list) {
        await readTensor(engine, src, job, options.signal, (n) => { loaded += n; report(); });
      }
    }

    const get = (name: string) => jobs.find((j) => j.spec.name === name);
    const lin = (name: string) => get(name)!.linear!;
    const vec = (name: string) => get(name)?.vector ?? 0;
    const c = model.config;
    const layers = [];
    for (let i = 0; i < c.nLayers; i++) {
      const b = `blk.${i}.`;
      const withBias = (name: string) => { const l = lin(b + name + ".weight"); l.bias = vec(b + name + ".bias"); return l; };
      layers.push({
        attnNorm: vec(b + "attn_norm.weight"),
        wq: withBias("attn_q"), wk: withBias("attn_k"), wv: withBias("attn_v"), wo: withBias("attn_output"),
        qNorm: vec(b + "attn_q_norm.weight"), kNorm: vec(b + "attn_k_norm.weight"),
        ffnNorm: vec(b + "ffn_norm.weight"),
        wGate: lin(b + "ffn_gate.weight"), wUp: lin(b + "ffn_up.weight"), wDown: lin(b + "ffn_down.weight"),
      });
    }
    const embed = lin("token_embd.weight");
    const weights: Weights = { embed, layers, outNorm: vec("output_norm.weight"), head: c.tiedEmbeddings ? embed : lin("output.weight") };
    return { weights, ropeFreqs: get("rope_freqs.weight")?.js, bytes: total };
  } catch (e) {
    for (const p of allocated) engine.arena.dealloc(p);
    throw e;
  }
}

async function readTensor(engine: Engine, src: ByteSource, job: Job, signal: AbortSignal | undefined, progress: (bytes: number) => void): Promise<void> {
  const { info } = job.ref;
  const rows = job.spec.shape.length === 2 ? job.spec.shape[0] : 1;
  const cols = job.spec.shape.length === 2 ? job.spec.shape[1] : job.spec.shape[0];
  const input = job.linear ? job.linear.format.input : "f32";
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(info.byteLength / rows, cols * 4)));
  for await (const { r0, n, bytes } of tensorRowChunks(src, info, rows, rowsPerChunk, signal)) {
    if (input === "stored") job.linear!.format.pack(engine, job.linear!, r0, n, bytes);
    else {
      const values = new Float32Array(n * cols);
      requireDecodable(info.type, job.spec.name).decode(bytes, values);
      if (job.linear) job.linear.format.pack(engine, job.linear, r0, n, values);
      else if (job.vector) engine.f32(job.vector, cols).set(values);
      else job.js!.set(values);
    }
    progress(bytes.byteLength);
  }
}
