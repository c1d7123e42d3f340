// The forward pass against llama.cpp (node-llama-cpp's prebuilt CPU build, f32 KV cache, one thread) on
// random-weight models of three architectures, written once as F32 GGUF and once as a Hugging Face directory
// with the same weights. Checks, on a 64-token prompt: max |logit difference| ≤ 1e-3 × max |logit| at every
// position, identical 32-token greedy continuations, and perplexity within 1e-4 relative.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModel } from "../src/index.ts";
import { negLogLikelihood, perplexity } from "../src/eval/perplexity.ts";
import { buildRandomModel, type RandomModelSpec } from "./helpers/random-model.ts";
import { LlamaRef } from "./helpers/llama-ref.ts";
import { maxDiff, rng } from "./helpers/numeric.ts";
import { workDir } from "./helpers/workdir.ts";

const PROMPT = 64, GREEDY = 32;

const cases: [string, RandomModelSpec][] = [
  ["llama (GQA 4/2, untied, interleaved RoPE in GGUF)", { arch: "llama", dim: 128, nLayers: 3, nHeads: 4, nKvHeads: 2, ffnDim: 320, tied: false, merges: 300, seed: 11 }],
  ["qwen2 (q/k/v biases, tied, GQA 6/2)", { arch: "qwen2", dim: 96, nLayers: 2, nHeads: 6, nKvHeads: 2, ffnDim: 256, tied: true, merges: 250, ropeTheta: 1e6, normEps: 1e-6, seed: 12 }],
  ["qwen3 (q/k norms, head_dim 48 ≠ dim/heads)", { arch: "qwen3", dim: 128, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 48, ffnDim: 256, tied: true, merges: 250, ropeTheta: 1e6, normEps: 1e-6, seed: 13 }],
  ["llama with llama3 rope scaling (rope_freqs)", { arch: "llama", dim: 64, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 160, tied: true, merges: 200, ropeTheta: 500000, seed: 14, llama3Rope: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64 } }],
];

function promptIds(vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: PROMPT }, () => Math.floor(r() * (vocab - 3))); // no special tokens
}

function argmax(a: Float32Array, off: number, n: number): number {
  let b = 0; for (let i = 1; i < n; i++) if (a[off + i] > a[off + b]) b = i; return b;
}

for (const [label, spec] of cases) {
  test(`${label}: logits, greedy and perplexity match llama.cpp; HF dir = GGUF`, async () => {
    const dir = workDir(`parity-${spec.arch}-${spec.seed}`);
    const built = buildRandomModel(dir, spec);
    const V = built.vocab.tokens.length;
    const ids = promptIds(V, spec.seed! + 100);
    const ref = await LlamaRef.open(built.gguf, 256);
    try {
      const refLogits = await ref.logits(ids);
      for (const [kind, path] of [["gguf", built.gguf], ["hf", built.hfDir]] as const) {
        const model = await loadModel(path, { contextLength: 256 });
        assert.is(model.config.vocabSize, V);
        const session = model.createSession();
        const ours = await session.evaluate(ids);
        let worst = 0, worstPos = -1, maxLogit = 0;
        for (let p = 0; p < PROMPT; p++) {
          const d = maxDiff(ours.subarray(p * V, (p + 1) * V), refLogits[p]);
          const rel = d.maxAbs / d.maxRef;
          if (rel > worst) { worst = rel; worstPos = p; }
          maxLogit = Math.max(maxLogit, d.maxRef);
          assert.ok(d.maxAbs <= 1e-3 * d.maxRef, `${kind} position ${p}: max |diff| ${d.maxAbs} > 1e-3 × ${d.maxRef}`);
        }
        console.log(`  ${kind}: worst max|Δlogit|/max|logit| = ${worst.toExponential(3)} at position ${worstPos} (max |logit| ${maxLogit.toFixed(2)}, bound 1e-3)`);

        // greedy continuation through the public generate() loop
        const refGreedy = await ref.greedy(ids, GREEDY);
        const eosAt = refGreedy.indexOf(built.vocab.eos);
        const expected = eosAt >= 0 ? refGreedy.slice(0, eosAt) : refGreedy;
        const gen = await model.generate(ids, { temperature: 0, maxTokens: GREEDY }).done();
        assert.equal(gen.tokens, expected, `${kind}: greedy continuation differs`);
        console.log(`  ${kind}: greedy ${gen.tokens.length} tokens identical to llama.cpp (stop: ${gen.stats.stopReason})`);

        // perplexity: windows of 32 over the prompt, from our evaluator vs llama.cpp's logits
        const ppl = await perplexity(session, ids, V, { ctx: 32 });
        let nll = 0, n = 0;
        for (let s = 0; s < ids.length; s += 32) {
          const w = ids.slice(s, s + 32);
          const lg = await ref.logits(w);
          for (let i = 0; i + 1 < w.length; i++) { nll += negLogLikelihood(lg[i], 0, V, w[i + 1]); n++; }
        }
        const refPpl = Math.exp(nll / n);
        const relPpl = Math.abs(ppl.perplexity - refPpl) / refPpl;
        console.log(`  ${kind}: perplexity ${ppl.perplexity.toFixed(6)} vs llama.cpp ${refPpl.toFixed(6)} (relative ${relPpl.toExponential(2)}, bound 1e-4)`);
        assert.ok(relPpl <= 1e-4, `${kind}: perplexity differs by ${relPpl}`);
        assert.is(ppl.scoredTokens, n);
        // first-token argmax sanity: both containers agree with each other too
        assert.is(argmax(ours, 0, V), argmax(refLogits[0], 0, V));
        model.dispose();
      }
    } finally {
      await ref.dispose();
    }
  });
}

test.run();
