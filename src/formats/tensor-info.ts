// What every container parser (GGUF, safetensors, .dbllm) reports about one tensor.
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
