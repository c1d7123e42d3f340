// Perplexity over a token sequence: non-overlapping windows of `ctx` tokens, each evaluated from an empty
// context; inside a window every token but the first is scored (it is predicted from the tokens before it in
// the same window). A trailing window with at least two tokens is included. No BOS is inserted.
// ppl = exp(mean negative log-likelihood over all scored tokens).
import { DbllmError, invalidArgument, throwIfAborted } from "../errors.ts";
import type { SessionApi as Session } from "../model/model-api.ts";
import { yieldToEventLoop } from "../generate/yield.ts";

export interface PerplexityOptions {
  ctx: number;
  signal?: AbortSignal;
  onProgress?: (p: { window: number; windows: number; tokens: number }) => void;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood (nats per scored token). */
  nll: number;
  scoredTokens: number;
  windows: number;
  ctx: number;
}

/** −log softmax(logits)[target], computed in float64. */
export function negLogLikelihood(logits: Float32Array, offset: number, vocab: number, target: number): number {
  let mx = -Infinity;
  for (let i = 0; i < vocab; i++) mx = Math.max(mx, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - mx);
  return Math.log(sum) + mx - logits[offset + target];
}

export async function perplexity(session: Session, ids: readonly number[], vocab: number, o: PerplexityOptions): Promise<PerplexityResult> {
  if (!Number.isSafeInteger(o.ctx) || o.ctx < 2) throw invalidArgument(`ctx must be an integer ≥ 2, got ${o.ctx}`);
  if (o.ctx > session.capacity) throw new DbllmError("CONTEXT_OVERFLOW", `ctx ${o.ctx} exceeds the session's context of ${session.capacity}`);
  if (ids.length < 2) throw new DbllmError("EMPTY_PROMPT", "perplexity needs at least two tokens of text");
  const windows: [number, number][] = [];
  for (let s = 0; s < ids.length; s += o.ctx) {
    const e = Math.min(ids.length, s + o.ctx);
    if (e - s >= 2) windows.push([s, e]);
  }
  let total = 0, scored = 0;
  for (let w = 0; w < windows.length; w++) {
    throwIfAborted(o.signal);
    const [s, e] = windows[w];
    session.reset();
    const logits = await session.evaluate(ids.slice(s, e));
    for (let i = 0; i + 1 < e - s; i++) total += negLogLikelihood(logits, i * vocab, vocab, ids[s + i + 1]);
    scored += e - s - 1;
    o.onProgress?.({ window: w + 1, windows: windows.length, tokens: scored });
    await yieldToEventLoop();
  }
  session.reset();
  const nll = total / scored;
  return { perplexity: Math.exp(nll), nll, scoredTokens: scored, windows: windows.length, ctx: o.ctx };
}
