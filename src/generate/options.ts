// Generation options: defaults, validation with clear errors, and the stats a generation reports.
import { invalidArgument } from "../errors.ts";
import type { SamplingOptions } from "./sampler.ts";

export type ContextFullPolicy = "stop" | "error" | "slide";

export interface GenerateOptions extends Partial<SamplingOptions> {
  /** Tokens to generate at most (default: until an end-of-sequence token or the end of the context). */
  maxTokens?: number;
  /** Same seed ⇒ same tokens (default: random). */
  seed?: number;
  /** Generation ends before the first occurrence of any of these strings (not included in the output). */
  stop?: string | string[];
  signal?: AbortSignal;
  /**
   * When the context fills up: 'stop' ends with stopReason 'context_full', 'error' throws CONTEXT_OVERFLOW,
   * 'slide' drops the older half of the context (keeping the first token) and continues. Default: the
   * session's setting ('stop').
   */
  onContextFull?: ContextFullPolicy;
  /** For string prompts: add the tokenizer's special tokens (BOS) — default true. */
  addSpecialTokens?: boolean;
  /**
   * Let special-token texts in a string prompt (generate) or in the messages (chat) become control tokens, e.g.
   * "<|im_end|>" → the end-of-turn token. Default false: user-supplied text never turns into control tokens;
   * chat() still gets the markers its template writes. Set it for prompts you formatted with the markers yourself.
   */
  parseSpecialTokens?: boolean;
}

export type StopReason = "eos" | "length" | "stop" | "context_full";

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens whose keys/values were already in the session's cache (not recomputed). */
  cachedPromptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  stopReason: StopReason;
}

export interface GenerationChunk {
  /** Text completed by this token (may be empty while a multi-byte character or a possible stop string is pending). */
  text: string;
  token: number;
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  stats: GenerationStats;
}

export const DEFAULT_SAMPLING: SamplingOptions = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
};

export interface ResolvedOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
  stop: string[];
  signal?: AbortSignal;
  onContextFull: ContextFullPolicy;
}

/** The range of every sampling option: [low, high], and whether it must be an integer. */
const SAMPLING_RANGES: Record<keyof SamplingOptions, [number, number, boolean?]> = {
  temperature: [0, 100],
  topK: [0, Number.MAX_SAFE_INTEGER, true],
  topP: [Number.MIN_VALUE, 1], // 0 would keep nothing
  minP: [0, 1],
  repetitionPenalty: [1e-3, 100],
  presencePenalty: [-100, 100],
  frequencyPenalty: [-100, 100],
};

/** What is wrong with the sampling options that are set, or undefined when nothing is. */
export function samplingProblem(s: Partial<SamplingOptions>): string | undefined {
  for (const [name, [lo, hi, integer]] of Object.entries(SAMPLING_RANGES)) {
    const v = s[name as keyof SamplingOptions];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      const range = integer ? `an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? "∞" : hi}]` : lo === Number.MIN_VALUE ? `a number in (0, ${hi}]` : `a number in [${lo}, ${hi}]`;
      return `${name} must be ${range}, got ${String(v)}`;
    }
  }
  return undefined;
}

export function resolveOptions(o: GenerateOptions, defaults: Partial<SamplingOptions>, contextPolicy: ContextFullPolicy): ResolvedOptions {
  const s = { ...DEFAULT_SAMPLING, ...defaults };
  for (const [k, v] of Object.entries(o)) if (v !== undefined && Object.hasOwn(SAMPLING_RANGES, k)) (s as Record<string, number>)[k] = v as number;
  const problem = samplingProblem(s);
  if (problem) throw invalidArgument(problem);
  const maxTokens = o.maxTokens ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) throw invalidArgument(`maxTokens must be a non-negative integer, got ${String(o.maxTokens)}`);
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isFinite(seed)) throw invalidArgument(`seed must be a finite number`);
  const stop = o.stop === undefined ? [] : Array.isArray(o.stop) ? o.stop : [o.stop];
  if (stop.some((x) => typeof x !== "string" || x.length === 0)) throw invalidArgument("stop must be a non-empty string or an array of them");
  const onContextFull = o.onContextFull ?? contextPolicy;
  if (!["stop", "error", "slide"].includes(onContextFull)) throw invalidArgument(`onContextFull must be 'stop', 'error' or 'slide'`);
  return { ...s, maxTokens, seed, stop, signal: o.signal, onContextFull };
}
