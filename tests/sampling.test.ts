// Sampler, penalties, stop strings and the seeded RNG, against hand-computed distributions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng } from "../src/generate/rng.ts";
import { applyPenalties, argmax, sample, topKIndices, type SamplingOptions } from "../src/generate/sampler.ts";
import { StopMatcher } from "../src/generate/stop.ts";
import { resolveOptions } from "../src/generate/options.ts";

const base: SamplingOptions = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0 };

function histogram(logits: number[], o: Partial<SamplingOptions>, n = 40000, seed = 1): number[] {
  const rng = new Rng(seed), h = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) h[sample(Float32Array.from(logits), { ...base, ...o }, rng)]++;
  return h.map((c) => c / n);
}

const softmax = (xs: number[], t = 1) => { const m = Math.max(...xs), e = xs.map((x) => Math.exp((x - m) / t)), s = e.reduce((a, b) => a + b); return e.map((x) => x / s); };

function close(label: string, got: number[], want: number[], tol = 0.01) {
  const d = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
  console.log(`  ${label}: max |freq − p| = ${d.toFixed(4)} (bound ${tol})`);
  assert.ok(d <= tol, `${label}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
}

const L = [2, 1, 0.5, 0, -1, -3];

test("temperature sampling draws from softmax(logits / T)", () => {
  close("T=1", histogram(L, {}), softmax(L));
  close("T=0.5", histogram(L, { temperature: 0.5 }), softmax(L, 0.5));
  close("T=2", histogram(L, { temperature: 2 }), softmax(L, 2));
});

test("top-k, top-p and min-p keep exactly the right candidates", () => {
  const p = softmax(L);
  const k2 = [p[0], p[1]].map((x) => x / (p[0] + p[1]));
  close("top-k 2", histogram(L, { topK: 2 }), [...k2, 0, 0, 0, 0]);
  // top-p 0.8: sorted cumulative 0.57, 0.78, 0.90 → the nucleus is the first three
  const cum = [p[0], p[0] + p[1], p[0] + p[1] + p[2]];
  assert.ok(cum[1] < 0.8 && cum[2] >= 0.8, `fixture: cumulative ${cum}`);
  const s3 = p[0] + p[1] + p[2];
  close("top-p 0.8", histogram(L, { topP: 0.8 }), [p[0] / s3, p[1] / s3, p[2] / s3, 0, 0, 0]);
  // min-p 0.3: keep p ≥ 0.3·p0
  const keep = p.map((x) => (x >= 0.3 * p[0] ? x : 0)), sk = keep.reduce((a, b) => a + b);
  close("min-p 0.3", histogram(L, { minP: 0.3 }), keep.map((x) => x / sk));
});

test("greedy is argmax; same seed gives the same draws", () => {
  assert.is(sample(Float32Array.from(L), { ...base, temperature: 0 }, new Rng(1)), 0);
  const a = histogram(L, {}, 200, 42), b = histogram(L, {}, 200, 42), c = histogram(L, {}, 200, 43);
  assert.equal(a, b);
  assert.not.equal(a, c);
  assert.is(argmax(Float32Array.from([1, 3, 3, 2])), 1);
});

test("penalties: repetition divides positive and multiplies negative logits; presence/frequency subtract", () => {
  const l = Float32Array.from([2, -2, 1, 1]);
  applyPenalties(l, { ...base, repetitionPenalty: 2, presencePenalty: 0.5, frequencyPenalty: 0.25 }, { context: new Set([0, 1]), generated: new Map([[2, 3]]) });
  assert.equal(Array.from(l), [1, -4, 1 - 0.5 - 0.75, 1]);
});

test("topKIndices handles ties and k ≥ size", () => {
  assert.equal(Array.from(topKIndices(Float32Array.from([1, 5, 5, 2, 5]), 2)), [1, 2]);
  assert.equal(Array.from(topKIndices(Float32Array.from([3, 1, 2]), 3)), [0, 2, 1]);
});

test("topKIndices equals a full sort (descending, ties by lower id) on random logits with many ties", () => {
  const rng = new Rng(7);
  let cases = 0, mismatches = 0;
  for (const V of [1, 2, 5, 40, 41, 1000, 49152]) {
    for (const k of [1, 2, 3, 39, 40, 64, V - 1, V, V + 3]) {
      if (k < 1) continue;
      // values on a coarse grid, so that ties are common
      const logits = Float32Array.from({ length: V }, () => Math.round(rng.next() * 50) / 4 - 6);
      const want = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, k);
      const got = Array.from(topKIndices(logits, k));
      cases++;
      if (got.length !== want.length || got.some((x, i) => x !== want[i])) mismatches++;
    }
  }
  console.log(`  topKIndices vs full sort: ${mismatches} mismatches in ${cases} cases`);
  assert.is(mismatches, 0);
});

test("stop strings: held back while ambiguous, cut at the first match, across chunk boundaries", () => {
  const m = new StopMatcher(["</s>", "\n\n"]);
  assert.equal(m.push("Hello <"), { emit: "Hello ", stopped: false });
  assert.equal(m.push("/"), { emit: "", stopped: false });
  assert.equal(m.push("x"), { emit: "</x", stopped: false });
  assert.equal(m.push(" end\n"), { emit: " end", stopped: false });
  assert.equal(m.push("\nmore"), { emit: "", stopped: true });
  const n = new StopMatcher(["abc"]);
  assert.equal(n.push("xxab"), { emit: "xx", stopped: false });
  assert.is(n.flush(), "ab");
  const none = new StopMatcher([]);
  assert.equal(none.push("anything"), { emit: "anything", stopped: false });
});

test("options are validated with clear errors", () => {
  for (const bad of [{ temperature: Number.NaN }, { topK: 1.5 }, { topP: 0 }, { minP: 2 }, { maxTokens: -1 }, { stop: [""] }, { repetitionPenalty: 0 }]) {
    assert.throws(() => resolveOptions(bad as never, {}, "stop"), (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT");
  }
  const r = resolveOptions({ temperature: 0, stop: "x" }, { topK: 7 }, "stop");
  assert.is(r.topK, 7);
  assert.equal(r.stop, ["x"]);
});

test.run();
