// Turning logits into the next token: penalties, then greedy (temperature 0) or top-k → temperature softmax →
// top-p → min-p → a draw from the seeded RNG. A pure function of (logits, options, history, rng).
import type { Rng } from "./rng.ts";

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature: number;
  /** Keep the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP: number;
  /** Drop tokens less likely than minP × the most likely one (0 = off). */
  minP: number;
  /** > 1 discourages tokens already in the context (CTRL-style: positive logits divided, negative multiplied). */
  repetitionPenalty: number;
  /** OpenAI-style: subtracted once from every token already generated. */
  presencePenalty: number;
  /** OpenAI-style: subtracted per occurrence among generated tokens. */
  frequencyPenalty: number;
}

export interface PenaltyHistory {
  /** Distinct tokens of the whole context (prompt + generated), for the repetition penalty. */
  context: Set<number>;
  /** Counts of generated tokens, for presence/frequency penalties. */
  generated: Map<number, number>;
}

/** Applies the penalties in place. */
export function applyPenalties(logits: Float32Array, o: SamplingOptions, h: PenaltyHistory): void {
  if (o.repetitionPenalty !== 1) {
    for (const t of h.context) {
      const v = logits[t];
      logits[t] = v > 0 ? v / o.repetitionPenalty : v * o.repetitionPenalty;
    }
  }
  if (o.presencePenalty !== 0 || o.frequencyPenalty !== 0) {
    for (const [t, n] of h.generated) logits[t] -= o.presencePenalty + o.frequencyPenalty * n;
  }
}

export function argmax(logits: Float32Array): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > bv) { bv = logits[i]; best = i; }
  return best;
}

/** Samples one token id. `logits` may be modified. */
export function sample(logits: Float32Array, o: SamplingOptions, rng: Rng, history?: PenaltyHistory): number {
  if (history) applyPenalties(logits, o, history);
  if (o.temperature === 0) return argmax(logits);
  const V = logits.length;
  let ids: Int32Array;
  if (o.topK > 0 && o.topK < V) ids = topKIndices(logits, o.topK);
  else ids = Int32Array.from({ length: V }, (_, i) => i);
  // softmax with temperature over the candidates
  let mx = -Infinity;
  for (const i of ids) mx = Math.max(mx, logits[i]);
  const p = new Float64Array(ids.length);
  let sum = 0;
  for (let j = 0; j < ids.length; j++) { p[j] = Math.exp((logits[ids[j]] - mx) / o.temperature); sum += p[j]; }
  for (let j = 0; j < p.length; j++) p[j] /= sum;
  let keep = Array.from({ length: ids.length }, (_, j) => j);
  if (o.topP < 1) keep = nucleus(p, o.topP);
  if (o.minP > 0) {
    let pmax = 0;
    for (const j of keep) pmax = Math.max(pmax, p[j]);
    keep = keep.filter((j) => p[j] >= o.minP * pmax);
  }
  let total = 0;
  for (const j of keep) total += p[j];
  let r = rng.next() * total;
  for (const j of keep) { r -= p[j]; if (r < 0) return ids[j]; }
  return ids[keep[keep.length - 1]];
}

/**
 * Indices of the k largest logits (ties broken by lower id), in descending order. One pass with a min-heap of the
 * k best so far: almost every logit costs one comparison with the heap's worst (a copy and a quickselect over a
 * 32k–152k vocabulary took 1–2 ms a token, more than a small model's whole forward pass at times).
 */
export function topKIndices(logits: Float32Array, k: number): Int32Array {
  const n = Math.min(k, logits.length);
  const ids = new Int32Array(n);
  if (n === 0) return ids;
  // heap[0] is the worst kept: lowest logit, and among equal logits the highest id
  const worse = (a: number, b: number) => logits[a] < logits[b] || (logits[a] === logits[b] && a > b);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let w = i;
      if (l < n && worse(ids[l], ids[w])) w = l;
      if (r < n && worse(ids[r], ids[w])) w = r;
      if (w === i) return;
      const t = ids[i]; ids[i] = ids[w]; ids[w] = t;
      i = w;
    }
  };
  for (let i = 0; i < n; i++) ids[i] = i;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(i);
  let floor = logits[ids[0]];
  for (let i = n; i < logits.length; i++) {
    // a later id with an equal logit loses the tie; NaN never enters
    if (logits[i] > floor) { ids[0] = i; siftDown(0); floor = logits[ids[0]]; }
  }
  return ids.sort((a, b) => logits[b] - logits[a] || a - b);
}

/** The smallest prefix (by descending probability) whose mass reaches `topP`; returns candidate positions. */
function nucleus(p: Float64Array, topP: number): number[] {
  // Bisect a probability threshold so that only a small superset of the nucleus is sorted.
  let lo = 0, hi = 1;
  for (let it = 0; it < 40; it++) {
    const mid = (lo + hi) / 2;
    let mass = 0;
    for (let j = 0; j < p.length; j++) if (p[j] >= mid) mass += p[j];
    if (mass >= topP) lo = mid; else hi = mid;
  }
  const cand: number[] = [];
  for (let j = 0; j < p.length; j++) if (p[j] >= lo) cand.push(j);
  cand.sort((a, b) => p[b] - p[a] || a - b);
  const keep: number[] = [];
  let mass = 0;
  for (const j of cand) { keep.push(j); mass += p[j]; if (mass >= topP) break; }
  return keep;
}
