// Activation statistics for activation-aware fitting: runs the unquantized model over calibration text and
// records, for every matrix of the blocks, the mean squared value of each of its input columns. The fit then
// weighs each column's squared error by it (columns that carry large activations matter more).
// The model must fit into wasm memory with f32 weights (the streaming quantizer itself does not need that).
import { Engine } from "../engine/engine.ts";
import { SingleThread } from "../engine/exec.ts";
import { DbllmError, throwIfAborted } from "../errors.ts";
import { ropeInvFreq } from "../config/rope.ts";
import { Forward, type InputSite } from "../model/forward.ts";
import { KVCache } from "../model/kv-cache.ts";
import { placeWeights } from "../model/loader.ts";
import type { OpenedModel } from "../open/types.ts";

const READERS: Record<InputSite, string[]> = {
  attn: ["attn_q", "attn_k", "attn_v"],
  attn_out: ["attn_output"],
  ffn: ["ffn_gate", "ffn_up"],
  ffn_down: ["ffn_down"],
};

export async function collectImportance(
  model: OpenedModel,
  tokens: readonly number[],
  options: { ctx?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<Map<string, Float64Array>> {
  if (tokens.length < 2) throw new DbllmError("EMPTY_PROMPT", "calibration text is empty");
  const ctx = Math.min(options.ctx ?? 512, tokens.length);
  const engine = await Engine.create();
  const placed = await placeWeights(engine, model, { signal: options.signal });
  const forward = new Forward(engine, model.config, placed.weights, ropeInvFreq(model.config, placed.ropeFreqs), new SingleThread(engine, "calibration"), 64);
  const cache = new KVCache(engine, model.config, ctx);
  const sums = new Map<string, Float64Array>();
  let rows = 0;
  forward.observer = (site, layer, x, T, K) => {
    const key = `${site}.${layer}`;
    let acc = sums.get(key);
    if (!acc) sums.set(key, (acc = new Float64Array(K)));
    const v = engine.f32(x, T * K);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) acc[k] += v[t * K + k] ** 2;
  };
  for (let s = 0; s < tokens.length; s += ctx) {
    throwIfAborted(options.signal);
    const window = tokens.slice(s, s + ctx);
    forward.run(cache, window, 0, "none");
    rows += window.length;
    options.onProgress?.(Math.min(tokens.length, s + ctx), tokens.length);
    await new Promise((r) => setTimeout(r, 0));
  }
  const out = new Map<string, Float64Array>();
  for (const [key, acc] of sums) {
    const [site, layer] = key.split(".") as [InputSite, string];
    let mean = 0;
    for (let k = 0; k < acc.length; k++) { acc[k] /= rows; mean += acc[k] / acc.length; }
    // a floor keeps columns that never fired from being ignored entirely
    for (let k = 0; k < acc.length; k++) acc[k] += 1e-3 * mean;
    for (const m of READERS[site]) out.set(`blk.${layer}.${m}.weight`, acc);
  }
  return out;
}
