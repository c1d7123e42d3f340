// Held-out perplexity of one model through the runtime, with a chosen fdb2 kernel (the `dbllm ppl` windowing:
// src/eval/perplexity.ts). Used by bench/distill/run.py.
//   node --import tsx bench/distill/ppl.ts <model> <text.txt> [--ctx 512] [--kernel lut-exact|lut|popcount] [--max-tokens N]
// Prints one JSON line: perplexity, nll, scoredTokens, windows, ctx, kernel, seconds, tokens/s.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadModel } from "../../src/index.ts";
import { perplexity } from "../../src/eval/perplexity.ts";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2), allowPositionals: true,
  options: { ctx: { type: "string" }, kernel: { type: "string" }, "max-tokens": { type: "string" } },
});
const [modelPath, textPath] = positionals;
if (!modelPath || !textPath) {
  process.stderr.write("usage: node --import tsx bench/distill/ppl.ts <model> <text.txt> [--ctx 512] [--kernel lut-exact] [--max-tokens N]\n");
  process.exit(2);
}
const ctx = Number(values.ctx ?? 512);
const kernel = (values.kernel ?? "lut-exact") as "lut-exact" | "lut" | "popcount";
const model = await loadModel(modelPath, { kernel, contextLength: ctx });
let ids = model.tokenizer.encode(new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(textPath)), { addSpecialTokens: false });
if (values["max-tokens"]) ids = ids.slice(0, Number(values["max-tokens"]));
const t0 = Date.now();
const r = await perplexity(model.createSession({ contextLength: ctx }), ids, model.config.vocabSize, { ctx });
const seconds = (Date.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ ...r, kernel: model.info().kernels.fdb, model: modelPath, file: textPath, seconds, tokensPerSecond: r.scoredTokens / seconds }) + "\n");
model.dispose();
process.exit(0);
