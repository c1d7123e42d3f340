// Tokenizes a text file with a model's own tokenizer through the dbllm runtime (the same ids `dbllm ppl` scores),
// for the Python trainer: node --import tsx python/dbllm_train/node_tokenize.ts <model> <text.txt> <out.json>
// Writes {"ids": [...], "vocabSize": n, "bos": id|null, "eos": [ids]}. No special tokens are added.
import { readFileSync, writeFileSync } from "node:fs";
import { openModel } from "../../src/model/sources.ts";

const [model, textFile, out] = process.argv.slice(2);
if (!model || !textFile || !out) {
  process.stderr.write("usage: node --import tsx python/dbllm_train/node_tokenize.ts <model> <text.txt> <out.json>\n");
  process.exit(2);
}
const opened = await openModel(model);
try {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(textFile));
  const ids = opened.tokenizer.encode(text, { addSpecialTokens: false });
  writeFileSync(out, JSON.stringify({ ids, vocabSize: opened.tokenizer.vocabSize, bos: opened.tokenizer.bosTokenId ?? null, eos: opened.tokenizer.eosTokenIds }));
} finally {
  await Promise.all(opened.files.map((f) => f.close()));
}
