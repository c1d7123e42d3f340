// Writes the fuzz corpus's seeds (tests/fuzz/seeds/): small valid models in every container dbllm reads, each a
// few tens of KB, from which tests/fuzz/mutate.ts derives the mutants. Regenerate after a format change with
//   node --import tsx tests/fuzz/make-seeds.ts
// (tests/fuzz.test.ts first checks that every seed still loads and generates finite logits).
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openModel } from "../../src/open/open-model.ts";
import { quantizeModel } from "../../src/conversion/quantize.ts";
import { buildRandomModel, type RandomModelSpec } from "../helpers/random-model.ts";
import { workDir } from "../helpers/workdir.ts";

export const SEEDS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "seeds");

/** The smallest shapes the quantized types accept (rows of 32), one layer, a 267-token byte-level vocabulary. */
const SHAPE = { dim: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, ffnDim: 32, merges: 8, contextLength: 64 } as const;

async function quantize(src: string, out: string): Promise<void> {
  const model = await openModel(src);
  const chunks: Uint8Array[] = [];
  const gen = quantizeModel(model, { method: "fdb", groupSize: 64, embed: "q8", head: "q8" });
  for (let r = await gen.next(); !r.done; r = await gen.next()) chunks.push(r.value);
  await Promise.all(model.files.map((f) => f.close()));
  writeFileSync(out, Buffer.concat(chunks));
}

export async function makeSeeds(out: string): Promise<void> {
  const tmp = workDir("fuzz-seeds");
  const build = (name: string, s: Partial<RandomModelSpec>) =>
    buildRandomModel(path.join(tmp, name), { arch: "llama", tied: true, seed: 7, ...SHAPE, ...s });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const f32 = build("f32", { hf: false });
  cpSync(f32.gguf, path.join(out, "llama-f32.gguf"));
  cpSync(build("q8", { arch: "qwen2", ggufType: "Q8_0", hf: false, seed: 8 }).gguf, path.join(out, "qwen2-q8_0.gguf"));
  cpSync(build("q4", { arch: "qwen3", ggufType: "Q4_0", hf: false, seed: 9, tied: false }).gguf, path.join(out, "qwen3-q4_0.gguf"));
  const hf = build("hf", { gguf: false, hfDtype: "F16", seed: 10, llama3Rope: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 32 } });
  cpSync(hf.hfDir, path.join(out, "llama3-hf"), { recursive: true });
  await quantize(f32.gguf, path.join(out, "fdb-gguf-tokenizer.dbllm"));
  await quantize(hf.hfDir, path.join(out, "fdb-hf-tokenizer.dbllm"));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await makeSeeds(SEEDS_DIR);
  process.stderr.write(`seeds written to ${SEEDS_DIR}\n`);
}
