// The model's shape and hyper-parameters, validated once here so that the forward pass can trust them: a leaf
// that every layer may read (the readers of GGUF metadata and HF config.json are beside it). The trainer's twin is
// python/dbllm_train/config.py; tests/fixtures/config-parity.json holds both to the same answers.
import { DbllmError } from "../errors.ts";
import { isRecord } from "../json.ts";

export type Architecture = "llama" | "qwen2" | "qwen3";

/** How RoPE pairs dimensions: (2i, 2i+1) as in GGUF llama files, or (i, i + rot/2) as in HF and GGUF qwen. */
export type RopeLayout = "interleaved" | "neox";

export type RopeScaling =
  | { type: "none" }
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  normEps: number;
  ropeTheta: number;
  /** Rotated dimensions per head (≤ headDim). */
  ropeDim: number;
  ropeLayout: RopeLayout;
  ropeScaling: RopeScaling;
  /** Context length the model was trained for. */
  contextLength: number;
  /** Sliding attention window (0 = full causal attention). */
  slidingWindow: number;
  tiedEmbeddings: boolean;
  /** Qwen3: RMSNorm over each q and k head before RoPE. */
  qkNorm: boolean;
}

export const SUPPORTED = "llama, qwen2, qwen3 (HF: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)";

/** The architectures the forward pass runs (looked up as own properties: "__proto__" or "constructor" are no architecture). */
const ARCHITECTURES: Readonly<Record<Architecture, true>> = { llama: true, qwen2: true, qwen3: true };
const ROPE_LAYOUTS: Readonly<Record<RopeLayout, true>> = { interleaved: true, neox: true };

export const isFinitePositive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

/** The largest size any dimension may have; the loader then checks every size against the tensors in the file. */
const MAX_SIZE = 1 << 24;

/** Checks a scaling description against what ropeInvFreq can compute (finite, positive, non-degenerate). */
function validateRopeScaling(s: unknown, origin: string): void {
  const bad = (why: string): never => { throw new DbllmError("INVALID_CONFIG", `${origin}: rope scaling ${why}`); };
  if (!isRecord(s)) bad(`is ${JSON.stringify(s)}, not an object`);
  const r = s as Record<string, unknown>;
  if (r.type === "none") return;
  if (r.type !== "linear" && r.type !== "llama3") throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: rope scaling ${JSON.stringify(r.type)} is not supported (none, linear, llama3)`);
  if (!isFinitePositive(r.factor)) bad(`factor ${String(r.factor)} is not a finite positive number`);
  if (r.type === "linear") return;
  if (!isFinitePositive(r.lowFreqFactor)) bad(`low frequency factor ${String(r.lowFreqFactor)} is not a finite positive number`);
  if (!(isFinitePositive(r.highFreqFactor) && r.highFreqFactor > (r.lowFreqFactor as number))) {
    bad(`high frequency factor ${String(r.highFreqFactor)} must be finite and larger than the low one (${String(r.lowFreqFactor)})`);
  }
  const n = r.originalContext;
  if (!Number.isSafeInteger(n) || (n as number) < 1) bad(`original context ${String(n)} is not a positive integer`);
}

/** Checks every field against the ranges the forward pass supports; returns `c` unchanged. */
export function validateConfig(c: ModelConfig, origin: string): ModelConfig {
  if (typeof c.architecture !== "string") throw new DbllmError("INVALID_CONFIG", `${origin}: architecture ${JSON.stringify(c.architecture)} is not a name`);
  if (!Object.hasOwn(ARCHITECTURES, c.architecture)) {
    throw new DbllmError("UNSUPPORTED_ARCHITECTURE", `${origin}: architecture ${JSON.stringify(c.architecture)} is not supported (supported: ${SUPPORTED})`);
  }
  const ints: (keyof ModelConfig)[] = ["vocabSize", "dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim", "ropeDim", "contextLength"];
  for (const k of ints) {
    const v = c[k] as number;
    if (!Number.isSafeInteger(v) || v <= 0 || v > MAX_SIZE) throw new DbllmError("INVALID_CONFIG", `${origin}: ${k} = ${String(v)} is not a valid size (1..${MAX_SIZE})`);
  }
  if (c.nHeads % c.nKvHeads !== 0) throw new DbllmError("INVALID_CONFIG", `${origin}: ${c.nHeads} attention heads are not a multiple of ${c.nKvHeads} kv heads`);
  if (c.ropeDim > c.headDim || c.ropeDim % 2) throw new DbllmError("INVALID_CONFIG", `${origin}: rope dimension ${c.ropeDim} does not fit head size ${c.headDim}`);
  if (!(isFinitePositive(c.normEps) && c.normEps < 1)) throw new DbllmError("INVALID_CONFIG", `${origin}: norm epsilon ${String(c.normEps)} is not in (0, 1)`);
  if (!isFinitePositive(c.ropeTheta)) throw new DbllmError("INVALID_CONFIG", `${origin}: rope theta ${String(c.ropeTheta)} is not a finite positive number`);
  if (!Number.isSafeInteger(c.slidingWindow) || c.slidingWindow < 0) throw new DbllmError("INVALID_CONFIG", `${origin}: sliding window ${String(c.slidingWindow)} is invalid`);
  if (typeof c.ropeLayout !== "string" || !Object.hasOwn(ROPE_LAYOUTS, c.ropeLayout)) {
    throw new DbllmError("INVALID_CONFIG", `${origin}: rope layout ${JSON.stringify(c.ropeLayout)} is not one of ${Object.keys(ROPE_LAYOUTS).join(", ")}`);
  }
  for (const k of ["tiedEmbeddings", "qkNorm"] as const) {
    if (typeof c[k] !== "boolean") throw new DbllmError("INVALID_CONFIG", `${origin}: ${k} = ${JSON.stringify(c[k])} is not true or false`);
  }
  validateRopeScaling(c.ropeScaling, origin);
  return c;
}

/** A configuration stored as JSON (the .dbllm header): every field typed and ranged, unknown fields dropped. */
export function configFromJSON(v: unknown, origin: string): ModelConfig {
  if (!isRecord(v)) throw new DbllmError("INVALID_CONFIG", `${origin}: the configuration is ${JSON.stringify(v)}, not a JSON object`);
  const fields: (keyof ModelConfig)[] = ["architecture", "vocabSize", "dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim",
    "normEps", "ropeTheta", "ropeDim", "ropeLayout", "ropeScaling", "contextLength", "slidingWindow", "tiedEmbeddings", "qkNorm"];
  const config: Record<string, unknown> = {};
  for (const k of fields) config[k] = Object.hasOwn(v, k) ? v[k] : undefined;
  const s = config.ropeScaling;
  if (isRecord(s)) { // the same copy for the scaling, so a stored object cannot carry extra fields into the model
    const keys = ["type", "factor", "lowFreqFactor", "highFreqFactor", "originalContext"].filter((k) => Object.hasOwn(s, k));
    config.ropeScaling = Object.fromEntries(keys.map((k) => [k, s[k]]));
  }
  return validateConfig(config as unknown as ModelConfig, origin);
}
