// The rotary embedding's frequency schedule, computed once per model in float64 (the kernels get cos/sin tables).
import { DbllmError } from "../errors.ts";
import { isFinitePositive, type ModelConfig } from "./model-config.ts";

/**
 * Inverse frequencies of the rotary embedding: theta^(-2i/rot), adjusted by linear or llama3-style scaling, or
 * divided by per-pair factors (GGUF's rope_freqs tensor).
 */
export function ropeInvFreq(c: ModelConfig, freqFactors?: Float32Array): Float64Array {
  const half = c.ropeDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.pow(c.ropeTheta, -(2 * i) / c.ropeDim);
  const s = c.ropeScaling;
  if (s.type === "linear") for (let i = 0; i < half; i++) inv[i] /= s.factor;
  if (s.type === "llama3") {
    const lowWavelen = s.originalContext / s.lowFreqFactor, highWavelen = s.originalContext / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  if (freqFactors) {
    if (freqFactors.length !== half) throw new DbllmError("TENSOR_SHAPE", `rope_freqs has ${freqFactors.length} factors, expected ${half}`);
    for (let i = 0; i < half; i++) {
      if (!isFinitePositive(freqFactors[i])) throw new DbllmError("INVALID_FILE", `rope_freqs factor ${i} is ${freqFactors[i]}, not a finite positive number`);
      inv[i] /= freqFactors[i];
    }
  }
  return inv;
}
