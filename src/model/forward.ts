// The LLaMA-family forward pass over a batch of tokens at consecutive positions: the prompt (prefill, as
// matrix-matrix products) and each generated token (decode) go through this same code. Buffers are allocated
// once per model for the largest batch; the per-token path allocates nothing.
import type { Engine } from "../engine/engine.ts";
import type { Executor, RangeCall } from "../engine/exec.ts";
import { prepBytes, type Linear } from "../quant/runtime.ts";
import type { ModelConfig } from "../config/model-config.ts";
import type { KVCache } from "./kv-cache.ts";
import type { Weights } from "./weights.ts";

export type LogitsWanted = "all" | "last" | "none";

/** Inputs of the block's matrices, for calibration: which matrices read `x` (T rows of K floats). */
export type InputSite = "attn" | "attn_out" | "ffn" | "ffn_down";
export type InputObserver = (site: InputSite, layer: number, x: number, T: number, K: number) => void;

/** Logits are computed this many rows at a time (a 150k vocabulary makes a full batch of them large). */
const LOGIT_ROWS = 16;

export class Forward {
  readonly maxBatch: number;
  // scratch, sized for maxBatch tokens
  private readonly x: number;      // (B, dim) residual stream
  private readonly xb: number;     // (B, dim) normed input / block output
  private readonly q: number;      // (B, heads·headDim)
  private readonly att: number;    // (B, heads·headDim) attention output
  private readonly hb: number;     // (B, ffn) gate, then silu(gate)·up
  private readonly hb2: number;    // (B, ffn) up
  private readonly logits: number; // (LOGIT_ROWS, vocab)
  private readonly cos: number;    // (B, rot/2)
  private readonly sin: number;    // (B, rot/2)
  private readonly ws: number;     // prepared activations (quantized / lookup tables) of one input
  private prepared = "";           // which input `ws` currently holds
  readonly scratchBytes: number;
  /** Called with each matrix input during forward passes (calibration); undefined in normal use. */
  observer: InputObserver | undefined;

  constructor(private readonly e: Engine, private readonly c: ModelConfig, private readonly w: Weights, private readonly invFreq: Float64Array, readonly exec: Executor, maxBatch = 64) {
    this.maxBatch = maxBatch;
    const B = maxBatch, qDim = c.nHeads * c.headDim, half = c.ropeDim / 2;
    const sizes = [B * c.dim, B * c.dim, B * qDim, B * qDim, B * c.ffnDim, B * c.ffnDim, LOGIT_ROWS * c.vocabSize, B * half, B * half];
    const ptrs = sizes.map((n, i) => e.allocF32(n, `forward buffer ${i}`));
    [this.x, this.xb, this.q, this.att, this.hb, this.hb2, this.logits, this.cos, this.sin] = ptrs;
    const linears = [w.embed, w.head, ...w.layers.flatMap((L) => [L.wq, L.wk, L.wv, L.wo, L.wGate, L.wUp, L.wDown])];
    const wsBytes = Math.max(16, ...linears.map((l) => (l.format.prep ? prepBytes(l.format.prep, Math.max(B, LOGIT_ROWS), l.cols, l.group) : 0)));
    this.ws = e.arena.alloc(wsBytes, "prepared activations");
    this.scratchBytes = sizes.reduce((a, b) => a + b * 4, 0) + wsBytes;
  }

  /**
   * Runs `tokens` at positions pos0.. through the model, appending their keys/values to `cache`.
   * Returns the logits of every token ('all', T·vocab), of the last one ('last', vocab), or nothing.
   */
  run(cache: KVCache, tokens: ArrayLike<number>, pos0: number, wanted: LogitsWanted): Float32Array | undefined {
    const T = tokens.length, V = this.c.vocabSize;
    const out = wanted === "all" ? new Float32Array(T * V) : wanted === "last" ? new Float32Array(V) : undefined;
    for (let s = 0; s < T; s += this.maxBatch) {
      const n = Math.min(this.maxBatch, T - s);
      const chunk = Array.from({ length: n }, (_, i) => tokens[s + i]);
      const isLast = s + n === T;
      this.chunk(cache, chunk, pos0 + s);
      if (wanted === "all") this.head(0, n, out!, s * V);
      else if (wanted === "last" && isLast) this.head(n - 1, n, out!, 0);
    }
    return out;
  }

  /** One batch of ≤ maxBatch tokens through every layer; leaves the residual stream in this.x. */
  private chunk(cache: KVCache, tokens: number[], pos0: number): void {
    const { e, c, w } = this;
    const k = e.k;
    const T = tokens.length, dim = c.dim, hd = c.headDim, kvDim = c.nKvHeads * hd;
    // the loader gives embeddings a format with row look-up (runtimeFor decodes the others to f32)
    for (let t = 0; t < T; t++) w.embed.format.embed!(e, this.x + t * dim * 4, w.embed, tokens[t]);
    const fresh = () => { this.prepared = ""; }; // call whenever a matmul input buffer is rewritten
    this.ropeTable(pos0, T);
    const neox = c.ropeLayout === "neox" ? 1 : 0;
    const scale = 1 / Math.sqrt(hd);
    for (let l = 0; l < c.nLayers; l++) {
      const L = w.layers[l];
      const kDst = cache.keys[l] + pos0 * kvDim * 4, vDst = cache.values[l] + pos0 * kvDim * 4;
      k.rmsnorm(this.xb, this.x, L.attnNorm, T, dim, c.normEps); fresh();
      this.observer?.("attn", l, this.xb, T, dim);
      this.project(this.xb, T, [[this.q, L.wq], [kDst, L.wk], [vDst, L.wv]]);
      if (L.qNorm) {
        k.rmsnorm(this.q, this.q, L.qNorm, T * c.nHeads, hd, c.normEps);
        k.rmsnorm(kDst, kDst, L.kNorm, T * c.nKvHeads, hd, c.normEps);
      }
      k.rope(this.q, this.cos, this.sin, T, c.nHeads, hd, c.ropeDim, neox);
      k.rope(kDst, this.cos, this.sin, T, c.nKvHeads, hd, c.ropeDim, neox);
      this.exec.run([{
        fn: "attention", args: [this.att, this.q, cache.keys[l], cache.values[l], 0, T, pos0, c.nHeads, c.nKvHeads, hd, c.slidingWindow, scale],
        count: c.nHeads, align: c.nHeads / c.nKvHeads, scratchArg: 4, kind: `attention:${T}:${2 ** Math.ceil(Math.log2(pos0 + T))}`,
      }], (pos0 + T) * 4 + 16);
      fresh();
      this.observer?.("attn_out", l, this.att, T, c.nHeads * hd);
      this.project(this.att, T, [[this.xb, L.wo]]);
      k.add(this.x, this.xb, T * dim);
      k.rmsnorm(this.xb, this.x, L.ffnNorm, T, dim, c.normEps); fresh();
      this.observer?.("ffn", l, this.xb, T, dim);
      this.project(this.xb, T, [[this.hb, L.wGate], [this.hb2, L.wUp]]);
      k.silu_mul(this.hb, this.hb, this.hb2, T * c.ffnDim); fresh();
      this.observer?.("ffn_down", l, this.hb, T, c.ffnDim);
      this.project(this.hb, T, [[this.xb, L.wDown]]);
      k.add(this.x, this.xb, T * dim);
    }
  }

  /** Final norm + output head for rows [r0, r1) of the last batch, copied into `out` at `at`. */
  private head(r0: number, r1: number, out: Float32Array, at: number): void {
    const { e, c, w } = this;
    for (let r = r0; r < r1; r += LOGIT_ROWS) {
      const n = Math.min(LOGIT_ROWS, r1 - r);
      e.k.rmsnorm(this.xb, this.x + r * c.dim * 4, w.outNorm, n, c.dim, c.normEps);
      this.prepared = "";
      this.project(this.xb, n, [[this.logits, w.head]]);
      out.set(e.f32(this.logits, n * c.vocabSize), at + (r - r0) * c.vocabSize);
    }
  }

  /**
   * out_i = x · W_iᵀ (+ bias) for matrices reading the same input: the input is prepared (quantized, tables)
   * once if their formats agree, and the products run as one job (split across threads by rows).
   */
  private project(x: number, T: number, targets: [out: number, lin: Linear][]): void {
    const calls: RangeCall[] = [];
    for (const [out, lin] of targets) {
      const prep = lin.format.prep;
      if (prep) {
        const key = `${prep.key}/${lin.group}/${x}/${T}`;
        if (key !== this.prepared) {
          if (calls.length) { this.exec.run(calls.splice(0)); } // a different preparation overwrites the buffer
          prep.run(this.e, this.ws, x, T, lin.cols, lin.group);
          this.prepared = key;
        }
      }
      const { fn, args } = lin.format.matmul(out, x, this.ws, lin, T);
      calls.push({ fn, args, count: lin.rows, align: lin.format.rowAlign, kind: `${fn}:${lin.rows}x${lin.cols}:${T}` });
    }
    this.exec.run(calls);
    for (const [out, lin] of targets) if (lin.bias) this.e.k.add_rows(out, lin.bias, T, lin.rows);
  }

  /** cos/sin of every (position, rotary pair) of this batch, computed in float64 then rounded. */
  private ropeTable(pos0: number, T: number): void {
    const half = this.c.ropeDim / 2;
    const cos = this.e.f32(this.cos, T * half), sin = this.e.f32(this.sin, T * half);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < half; i++) {
        const a = (pos0 + t) * this.invFreq[i];
        cos[t * half + i] = Math.cos(a);
        sin[t * half + i] = Math.sin(a);
      }
    }
  }
}
