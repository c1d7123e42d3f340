// Reading a tensor's data in file order, a bounded chunk of whole rows at a time, with the check every reader of
// weights needs: no NaN or ±Inf among the stored floats (values or block scales), which would otherwise load
// silently and turn every logit into NaN.
import { DbllmError, throwIfAborted } from "../errors.ts";
import { firstNonFiniteBlock } from "../quant/finite.ts";
import { readExact, type ByteSource } from "../bytes/source.ts";
import type { TensorInfo } from "./tensor-info.ts";

export interface RowChunk {
  /** First row of the chunk and number of rows. */
  r0: number;
  n: number;
  /** The stored bytes of rows [r0, r0 + n). */
  bytes: Uint8Array;
}

export async function* tensorRowChunks(src: ByteSource, info: TensorInfo, rows: number, rowsPerChunk: number, signal?: AbortSignal): AsyncGenerator<RowChunk> {
  const rowBytes = info.byteLength / rows;
  for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
    throwIfAborted(signal);
    const n = Math.min(rowsPerChunk, rows - r0);
    const bytes = await readExact(src, info.offset + r0 * rowBytes, n * rowBytes, `tensor ${info.name}`);
    const bad = firstNonFiniteBlock(info.type, bytes);
    if (bad >= 0) {
      const row = r0 + Math.floor((bad * info.type.blockBytes) / rowBytes);
      const what = info.type.blockSize > 1 ? "scale" : "value";
      throw new DbllmError("NON_FINITE", `${src.name}: tensor ${info.name} (${info.type.name}) stores a NaN or infinite ${what} in row ${row}; the file is damaged`);
    }
    yield { r0, n, bytes };
  }
}
