// Tokenizes text for the Python trainer with a model's own tokenizer through the dbllm runtime (the same ids
// `dbllm ppl` scores and `chat()` feeds the model):
//   node --import tsx python/dbllm_train/node_tokenize.ts <model> <text.txt> <out.json>
//     writes {"ids": [...], "vocabSize": n, "bos": id|null, "eos": [ids]}; no special tokens are added.
//   node --import tsx python/dbllm_train/node_tokenize.ts --chat <model> <prompts.txt> <out.json>
//     each non-empty line is one user message; writes {"prefixes": [[ids], ...], ...}: the model's chat template
//     rendered with the generation prompt, tokenized exactly as Session.chat() does.
import { readFileSync, writeFileSync } from "node:fs";
import { openModel } from "../../src/open/open-model.ts";
import { chatEncoder } from "../../src/model/model-core.ts";

const args = process.argv.slice(2);
const chat = args[0] === "--chat";
const [model, textFile, out] = chat ? args.slice(1) : args;
if (!model || !textFile || !out) {
  process.stderr.write("usage: node --import tsx python/dbllm_train/node_tokenize.ts [--chat] <model> <text.txt> <out.json>\n");
  process.exit(2);
}
const opened = await openModel(model);
try {
  const tok = opened.tokenizer;
  const text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(textFile));
  const common = { vocabSize: tok.vocabSize, bos: tok.bosTokenId ?? null, eos: tok.eosTokenIds };
  if (chat) {
    const encode = chatEncoder(tok);
    const prompts = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
    const prefixes = prompts.map((content) => encode([{ role: "user", content }]));
    writeFileSync(out, JSON.stringify({ prefixes, prompts: prompts.length, ...common }));
  } else {
    const ids = tok.encode(text, { addSpecialTokens: false });
    writeFileSync(out, JSON.stringify({ ids, ...common }));
  }
} finally {
  await Promise.all(opened.files.map((f) => f.close()));
}
