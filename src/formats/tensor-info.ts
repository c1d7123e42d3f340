// What every container parser (GGUF, safetensors, .dbllm) reports about one tensor.
import { DbllmError } from "../errors.ts";
import type { TensorType } from "../quant/table.ts";

export interface TensorInfo {
  readonly name: string;
  readonly type: TensorType;
  /** Outermost dimension first (PyTorch order): a linear weight is [outFeatures, inFeatures]. */
  readonly shape: readonly number[];
  /** Absolute byte offset of the data in its file. */
  readonly offset: number;
  readonly byteLength: number;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Rejects tensor data that overlap (two tensors reading the same bytes load as silently wrong weights). With
 * `tiling`, the tensors must moreover cover [start, end) exactly, one after the other with no gap, as safetensors
 * requires; `end` is left out when the size of the file is unknown (a stream). Tensors of a type whose size is
 * unknown (byteLength NaN) occupy no bytes here.
 */
export function checkTensorLayout(tensors: readonly TensorInfo[], file: string, tiling?: { start: number; end: number | undefined }): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  const length = (t: TensorInfo) => (Number.isNaN(t.byteLength) ? 0 : t.byteLength);
  let end = tiling?.start ?? 0, previous: TensorInfo | undefined;
  for (const t of sorted) {
    if (t.offset < end) {
      const other = previous ? `tensor ${previous.name} (bytes ${previous.offset}..${end})` : `the header (ends at ${end})`;
      throw new DbllmError("INVALID_FILE", `${file}: tensor ${t.name} (bytes ${t.offset}..${t.offset + length(t)}) overlaps ${other}`);
    }
    if (tiling && t.offset > end) {
      throw new DbllmError("INVALID_FILE", `${file}: ${t.offset - end} bytes before tensor ${t.name} at ${t.offset} belong to no tensor (the data must follow each other without gaps)`);
    }
    end = t.offset + length(t);
    previous = t;
  }
  if (tiling?.end !== undefined && end !== tiling.end) {
    throw new DbllmError("INVALID_FILE", `${file}: the tensor data end at byte ${end} but the file has ${tiling.end} bytes (a header length that is off, or trailing bytes)`);
  }
}
