// Model shapes the benchmarks use (random weights of the real parameter counts).
export interface Shape {
  name: string;
  arch: "llama";
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  ffnDim: number;
  vocabSize: number;
  tied: boolean;
  ropeTheta: number;
  contextLength: number;
}

export const TINYLLAMA: Shape = { name: "TinyLlama-1.1B", arch: "llama", dim: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, ffnDim: 5632, vocabSize: 32000, tied: false, ropeTheta: 10000, contextLength: 2048 };
export const SMOLLM2: Shape = { name: "SmolLM2-135M", arch: "llama", dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, ffnDim: 1536, vocabSize: 49152, tied: true, ropeTheta: 100000, contextLength: 2048 };
