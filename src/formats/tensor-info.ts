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

/**
 * A tensor of a type dbllm has no row for (a GGML type id newer than the table, a safetensors dtype such as
 * F8_E4M3): kept by name, so that a model needing it is refused with the type named, and by position, so that its
 * bytes stay out of other tensors' way. Its size is known only where the container states it.
 */
export interface UnreadableTensor {
  readonly name: string;
  /** The type as the file names it: "GGML type 41", "F8_E4M3". */
  readonly typeName: string;
  readonly offset: number;
  /** Bytes of data when the container states them (safetensors), undefined when only the type would tell (GGUF). */
  readonly byteLength: number | undefined;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Rejects tensor data that overlap (two tensors reading the same bytes load as silently wrong weights). With
 * `tiling`, the tensors must moreover cover [start, end) exactly, one after the other with no gap, as safetensors
 * requires; `end` is left out when the size of the file is unknown (a stream). An unreadable tensor whose size
 * the container does not state occupies no bytes here.
 */
export function checkTensorLayout(tensors: readonly (TensorInfo | UnreadableTensor)[], file: string, tiling?: { start: number; end: number | undefined }): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  const length = (t: TensorInfo | UnreadableTensor) => t.byteLength ?? 0;
  let end = tiling?.start ?? 0, previous: TensorInfo | UnreadableTensor | undefined;
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
