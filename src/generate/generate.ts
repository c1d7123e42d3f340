// The decode loop: prefill the prompt (reusing what the session already holds), then sample, detokenize,
// match stop strings and run the next forward pass, until a stop condition. Yields text as it becomes final.
import { DbllmError, throwIfAborted } from "../errors.ts";
import { checkTokenIds, type Tokenizer } from "../tokenizer/index.ts";
import type { GenerationChunk, GenerationResult, ResolvedOptions, StopReason } from "./options.ts";
import { Rng } from "./rng.ts";
import { sample, type PenaltyHistory } from "./sampler.ts";
import { StopMatcher } from "./stop.ts";
import { yieldToEventLoop } from "./yield.ts";

/** What generation needs from a session. */
export interface DecodeTarget {
  readonly capacity: number;
  readonly length: number;
  readonly tokens: readonly number[];
  /** Makes the context hold exactly `ids`, recomputing only what differs; returns the last position's logits. */
  prefill(ids: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; cached: number }>;
  /** Appends one token; returns its logits. */
  step(token: number): Float32Array;
  /** Frees room by dropping the older half of the context (keeps the first token). */
  slide(): void;
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

export async function* runGeneration(target: DecodeTarget, tokenizer: Tokenizer, prompt: readonly number[], o: ResolvedOptions): AsyncGenerator<GenerationChunk, GenerationResult> {
  if (prompt.length === 0) throw new DbllmError("EMPTY_PROMPT", "the prompt is empty (no tokens to condition on)");
  if (prompt.length > target.capacity) {
    throw new DbllmError("CONTEXT_OVERFLOW", `the prompt has ${prompt.length} tokens but the context holds ${target.capacity}; shorten it or load the model with a larger contextLength`);
  }
  checkTokenIds(prompt, tokenizer.vocabSize);
  throwIfAborted(o.signal);
  const rng = new Rng(o.seed);
  const eos = new Set(tokenizer.eosTokenIds);
  const stops = new StopMatcher(o.stop);
  const decoder = tokenizer.createStreamDecoder();
  const history: PenaltyHistory = { context: new Set(prompt), generated: new Map() };
  const tokens: number[] = [];
  let text = "";

  const t0 = now();
  let { logits, cached } = await target.prefill(prompt, o.signal);
  const prefillMs = now() - t0;
  let decodeMs = 0;
  let stopReason: StopReason = "length";

  const t1 = now();
  while (tokens.length < o.maxTokens) {
    await yieldToEventLoop();
    throwIfAborted(o.signal);
    const token = sample(logits, o, rng, history);
    if (eos.has(token)) { stopReason = "eos"; break; }
    tokens.push(token);
    history.context.add(token);
    history.generated.set(token, (history.generated.get(token) ?? 0) + 1);
    const { emit, stopped } = stops.push(decoder.push(token));
    if (emit) { text += emit; yield { text: emit, token }; } else yield { text: "", token };
    if (stopped) { stopReason = "stop"; break; }
    if (tokens.length >= o.maxTokens) break;
    if (target.length >= target.capacity) {
      if (o.onContextFull === "stop") { stopReason = "context_full"; break; }
      if (o.onContextFull === "error") {
        throw new DbllmError("CONTEXT_OVERFLOW", `the context of ${target.capacity} tokens is full after ${tokens.length} generated tokens (use onContextFull: 'slide' or 'stop', or a larger contextLength)`);
      }
      target.slide();
    }
    logits = target.step(token);
  }
  decodeMs = now() - t1;
  if (stopReason !== "stop") {
    const rest = stops.push(decoder.flush()).emit + stops.flush();
    if (rest) { text += rest; yield { text: rest, token: -1 }; }
  }
  const evaluated = prompt.length - cached;
  const stats = {
    promptTokens: prompt.length,
    cachedPromptTokens: cached,
    generatedTokens: tokens.length,
    prefillMs,
    decodeMs,
    prefillTokensPerSecond: prefillMs > 0 ? (evaluated * 1000) / prefillMs : 0,
    decodeTokensPerSecond: decodeMs > 0 ? (tokens.length * 1000) / decodeMs : 0,
    stopReason,
  };
  return { text, tokens, stats };
}
