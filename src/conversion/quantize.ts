// `dbllm quantize`: any source the runtime loads → one .dbllm file. Streams tensor by tensor in file order
// (peak memory ≈ one chunk of rows plus what is being written), so large checkpoints convert in little memory.
// Linear layers of the blocks become fdb2 (FDB fit, or plain 2-bit RTN as the baseline); embeddings and the
// output head become Q8_0 or F16; norms, biases and rope factors stay F32. Output is deterministic.
import { DbllmError, invalidArgument, throwIfAborted } from "../errors.ts";
import { dbllmMetadataStrings, type TensorTypeEntry } from "../formats/dbllm.ts";
import { safetensorsLayout } from "../formats/safetensors.ts";
import { tensorRowChunks } from "../formats/tensor-rows.ts";
import { matchTensors } from "../model/loader.ts";
import type { OpenedModel, TensorRef } from "../open/types.ts";
import type { TensorSpec } from "../model/weights.ts";
import { fdbZeroBits } from "../quant/fdb-codec.ts";
import type { FdbMethod } from "../quant/fdb.ts";
import { fdbType, requireDecodable, typeByName, type TensorType } from "../quant/table.ts";

export interface QuantizeOptions {
  /** fdb / rtn: 2-bit fdb2 linear layers; q8: int8 linear layers (Q8_0), a high-precision reference. */
  method: FdbMethod | "q8";
  groupSize: 64 | 128;
  embed: "q8" | "q4" | "f16";
  head: "q8" | "q4" | "f16";
  /** Per-layer input statistics (mean squared activation per input column) for activation-aware fitting. */
  importance?: Map<string, Float64Array>;
  signal?: AbortSignal;
  onProgress?: (p: { tensor: string; index: number; tensors: number; bytes: number; totalBytes: number }) => void;
  onTensor?: (s: TensorReport) => void;
}

export interface TensorReport {
  name: string;
  /** Block matrices ("linear"), token embeddings, output head, or a vector (norm, bias). */
  role: "linear" | "embed" | "head" | "vector";
  type: string;
  shape: number[];
  /** ||W − Ŵ||_F / ||W||_F (for quantized tensors). */
  relError?: number;
  /** Share of zero entries over both bit planes (fdb2). */
  zeroShare?: number;
  bits: number;
}

export interface QuantizeReport {
  tensors: TensorReport[];
  /** Bits per weight over the block matrices, and over all stored parameters. */
  linearBitsPerWeight: number;
  totalBitsPerWeight: number;
  zeroShare: number;
  bytes: number;
}

/** The group size used for a matrix with K columns: the requested one when it divides K, else the largest that does. */
function groupFor(K: number, requested: 64 | 128): 128 | 64 | 32 | undefined {
  for (const g of [requested, 128, 64, 32] as const) if (g <= requested && K % g === 0) return g;
  return undefined;
}

interface Plan {
  spec: TensorSpec;
  source: TensorRef;
  out: TensorType;
  /** The fdb2 group size when `out` is fdb2 (its zero bits are reported). */
  fdbGroup?: number;
  rows: number;
  cols: number;
}

const F32 = typeByName("F32")!, F16 = typeByName("F16")!, Q8 = typeByName("Q8_0")!, Q4 = typeByName("Q4_0")!;

function planFor(model: OpenedModel, o: QuantizeOptions): Plan[] {
  return matchTensors(model).map(({ spec, ref }) => {
    const rows = spec.shape.length === 2 ? spec.shape[0] : 1, cols = spec.shape.length === 2 ? spec.shape[1] : spec.shape[0];
    requireDecodable(ref.info.type, spec.name);
    let out = F32, fdbGroup: number | undefined;
    if (spec.role === "embed" || spec.name === "output.weight") {
      const want = spec.role === "embed" ? o.embed : o.head;
      out = cols % 32 !== 0 ? F16 : want === "q8" ? Q8 : want === "q4" ? Q4 : F16;
    } else if (spec.role === "linear" && o.method === "q8") {
      if (cols % 32 !== 0) throw new DbllmError("TENSOR_SHAPE", `${spec.name}: ${cols} columns are not a multiple of 32 (Q8_0)`);
      out = Q8;
    } else if (spec.role === "linear") {
      const g = groupFor(cols, o.groupSize);
      if (g === undefined) throw new DbllmError("TENSOR_SHAPE", `${spec.name}: ${cols} columns are not a multiple of 32, so it cannot be stored as fdb2`);
      out = fdbType(g);
      fdbGroup = g;
    }
    return { spec, source: ref, out, fdbGroup, rows, cols };
  }).sort((a, b) => a.source.file - b.source.file || a.source.info.offset - b.source.info.offset);
}

const CHUNK_BYTES = 4 << 20;

/**
 * Quantizes `model` and returns the .dbllm file as a stream of chunks (header first). `model` must have been
 * opened with openModel and is read in file order.
 */
export async function* quantizeModel(model: OpenedModel, o: QuantizeOptions): AsyncGenerator<Uint8Array, QuantizeReport> {
  if (!["fdb", "rtn", "q8"].includes(o.method)) throw invalidArgument(`method must be fdb, rtn or q8`);
  if (o.groupSize !== 64 && o.groupSize !== 128) throw invalidArgument(`group size must be 64 or 128`);
  const plans = planFor(model, o);
  const tensorTypes: Record<string, TensorTypeEntry> = {};
  const outs = plans.map((p) => {
    const bytes = (p.rows * p.cols / p.out.blockSize) * p.out.blockBytes;
    // types safetensors knows keep their dtype; the others are raw bytes described in dbllm.tensor_types
    const raw = p.out.safetensors === undefined;
    if (raw) tensorTypes[p.spec.name] = { type: p.out.name, shape: [p.rows, p.cols] };
    return {
      name: p.spec.name,
      dtype: raw ? "U8" : p.out.name,
      shape: raw ? [p.rows, bytes / p.rows] : p.spec.shape,
      byteLength: bytes,
    };
  });
  const quantization = {
    method: o.method, group_size: o.groupSize, embed: o.embed, head: model.config.tiedEmbeddings ? o.embed : o.head,
    activation_aware: !!o.importance, activations: "int8 per group at run time",
  };
  const metadata = dbllmMetadataStrings({
    config: model.config,
    tokenizer: model.tokenizer.serialize(),
    quantization,
    tensorTypes,
    provenance: { source: model.name.split(/[\\/]/).pop(), source_format: model.format, tool: "dbllm quantize" },
  });
  const { header } = safetensorsLayout(outs, metadata);
  yield header;
  const reports: TensorReport[] = [];
  const totalBytes = plans.reduce((a, p) => a + p.source.info.byteLength, 0);
  let doneBytes = 0;
  for (let i = 0; i < plans.length; i++) {
    throwIfAborted(o.signal);
    const p = plans[i];
    o.onProgress?.({ tensor: p.spec.name, index: i, tensors: plans.length, bytes: doneBytes, totalBytes });
    const { bytes, report } = await quantizeTensor(model, p, o);
    reports.push(report);
    o.onTensor?.(report);
    doneBytes += p.source.info.byteLength;
    yield bytes;
  }
  o.onProgress?.({ tensor: "", index: plans.length, tensors: plans.length, bytes: totalBytes, totalBytes });
  const lin = reports.filter((r) => r.role === "linear");
  const linWeights = lin.reduce((a, r) => a + r.shape[0] * r.shape[1], 0);
  const allWeights = reports.reduce((a, r) => a + r.shape.reduce((x, y) => x * y, 1), 0);
  return {
    tensors: reports,
    linearBitsPerWeight: lin.reduce((a, r) => a + r.bits, 0) / Math.max(1, linWeights),
    totalBitsPerWeight: reports.reduce((a, r) => a + r.bits, 0) / allWeights,
    zeroShare: lin.reduce((a, r) => a + (r.zeroShare ?? 0) * r.shape[0] * r.shape[1], 0) / Math.max(1, linWeights),
    bytes: outs.reduce((a, t) => a + t.byteLength, 0),
  };
}

async function quantizeTensor(model: OpenedModel, p: Plan, o: QuantizeOptions): Promise<{ bytes: Uint8Array; report: TensorReport }> {
  const { info } = p.source;
  const src = model.files[p.source.file];
  const decoder = requireDecodable(info.type, info.name);
  const outBytes = new Uint8Array((p.rows * p.cols / p.out.blockSize) * p.out.blockBytes);
  const outRow = outBytes.length / p.rows, inRow = info.byteLength / p.rows;
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(inRow, p.cols * 4)));
  const imp = o.importance?.get(p.spec.name);
  let errSq = 0, normSq = 0, zeros = 0;
  const fit = { method: o.method as FdbMethod, importance: imp };
  for await (const { r0, n, bytes: raw } of tensorRowChunks(src, info, p.rows, rowsPerChunk, o.signal)) {
    const w = new Float32Array(n * p.cols);
    decoder.decode(raw, w);
    for (let i = 0; i < w.length; i++) normSq += w[i] * w[i];
    const enc = p.out.encode!(w, fit);
    outBytes.set(enc, r0 * outRow);
    if (p.out !== F32) { // the error of what is stored, as the runtime reads it back
      const back = new Float32Array(w.length);
      p.out.decode!(enc, back);
      for (let i = 0; i < w.length; i++) errSq += (w[i] - back[i]) ** 2;
    }
    if (p.fdbGroup) zeros += fdbZeroBits(p.fdbGroup, enc);
    await new Promise((r) => setTimeout(r, 0)); // let progress output and abort signals through
  }
  const role = p.spec.role === "embed" ? "embed" : p.spec.name === "output.weight" ? "head" : p.spec.role === "linear" ? "linear" : "vector";
  const report: TensorReport = {
    name: p.spec.name, role, type: p.out.name, shape: [p.rows, p.cols].filter((_, i) => p.spec.shape.length === 2 || i === 1),
    bits: outBytes.length * 8,
  };
  if (p.out !== F32) report.relError = normSq > 0 ? Math.sqrt(errSq / normSq) : 0;
  if (p.fdbGroup) report.zeroShare = zeros / (2 * p.rows * p.cols);
  return { bytes: outBytes, report };
}
