// Tokenizer.fromGGUF against llama.cpp itself: its own test vectors (models/ggml-vocab-*.gguf.inp/.out), the
// same corpus through node-llama-cpp (vocab-only) on the same files — SmolLM2, our embedded default model,
// included — LLaMA-2 against llama-tokenizer-js, and malformed vocabularies rejected.
import { readFileSync } from "node:fs";
import llamaTokenizer from "llama-tokenizer-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { importNodeLlamaCpp, smolLM2Path } from "../scripts/assets.ts";
import { DbllmError } from "../src/errors.ts";
import { GGUFMeta, type GGUFValue } from "../src/formats/gguf.ts";
import { Tokenizer } from "../src/tokenizer/index.ts";
import {
  assertSameIds, assertSameText, bigText, corpusLines, ggufMeta, ggufTokenizer, llamaCppVocab, SPECIAL_TOKEN_LINES,
  UNICODE_WHITESPACE_LINES,
} from "./helpers/corpus.ts";

const corpus = corpusLines();

const vocab = ggufTokenizer;

test("the GGUF reader keeps a leading U+FEFF in strings (LLaMA's token 30143 is exactly \"\\uFEFF\")", () => {
  const tokens = ggufMeta(llamaCppVocab("llama-spm")).arr("tokenizer.ggml.tokens") as string[];
  assert.is(tokens[30143], "\ufeff");
  assert.not.ok(tokens.some((t) => t === ""), "a token string came back empty");
});

// every vocabulary with vectors whose tokenizer we support, but command-r and deepseek-llm (large, slow to load)
const VECTOR_VOCABS = ["llama-spm", "llama-bpe", "qwen2", "gpt-2", "phi-3", "qwen35", "starcoder", "refact",
  "deepseek-coder", "falcon", "mpt"];

test("llama.cpp's own tokenizer test vectors (ggml-vocab-*.gguf.inp/.out, add_special=false, parse_special=false)", () => {
  let total = 0;
  for (const name of VECTOR_VOCABS) {
    const file = llamaCppVocab(name);
    const tok = vocab(file);
    const inputs = readFileSync(`${file}.inp`, "utf8").split("\n__ggml_vocab_test__\n");
    const outputs = readFileSync(`${file}.out`, "utf8").split("\n");
    assert.ok(inputs.length >= 47 && outputs.length >= inputs.length, `${name}: ${inputs.length} inputs, ${outputs.length} outputs`);
    const expected = new Map(inputs.map((s, i) => [s, outputs[i].trim().split(" ").filter(Boolean).map(Number)]));
    assertSameIds(`${name} (${tok.description}) vectors`, inputs,
      (s) => tok.encode(s, { addSpecialTokens: false, parseSpecialTokens: false }), (s) => expected.get(s)!);
    total += inputs.length;
  }
  console.log(`  ${total} cases over ${VECTOR_VOCABS.length} vocabularies`);
});

test("LLaMA-2 (ggml-vocab-llama-spm.gguf): reference sentence and llama-tokenizer-js on the corpus", () => {
  const tok = vocab(llamaCppVocab("llama-spm"));
  assert.equal(tok.encode("The quick brown fox jumps over the lazy dog."), [1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278, 17366, 11203, 29889]);
  // llama-tokenizer-js adds BOS and SentencePiece's leading space by default and never parses special tokens
  assertSameIds("LLaMA-2 GGUF vs llama-tokenizer-js", corpus,
    (l) => tok.encode(l, { parseSpecialTokens: false }), (l) => llamaTokenizer.encode(l));
});

// --- llama.cpp through node-llama-cpp, one process-wide instance ---

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let llamaPromise: Promise<any> | undefined;
const getLlamaOnce = async () => {
  llamaPromise ??= importNodeLlamaCpp().then(({ getLlama }) => getLlama({ gpu: false, build: "never", logLevel: "error" }));
  return llamaPromise;
};

const CLEAN_SPACES = new Set(["gpt-2", "llama-bpe"]); // llama.cpp's detokenizer "cleans" " ." → "." for these

// [label, file, every how many corpus lines] (the large vocabularies load slowly in llama.cpp: a third of the lines)
const LLAMA_CPP_VOCABS: [label: string, file: () => string, step: number][] = [
  ["SmolLM2-135M-Instruct (embedded default model)", smolLM2Path, 1],
  ["llama-spm", () => llamaCppVocab("llama-spm"), 1],
  ["gpt-2", () => llamaCppVocab("gpt-2"), 1],
  ["llama-bpe", () => llamaCppVocab("llama-bpe"), 3],
  ["qwen2", () => llamaCppVocab("qwen2"), 3],
  ["phi-3", () => llamaCppVocab("phi-3"), 3],
];

for (const [label, fileOf, step] of LLAMA_CPP_VOCABS) {
  test(`${label}: ids, decoding and end-of-generation tokens identical to llama.cpp (node-llama-cpp, vocab only)`, async () => {
    const file = fileOf();
    const tok = vocab(file);
    const llama = await getLlamaOnce();
    const model = await llama.loadModel({ modelPath: file, vocabOnly: true });
    try {
      const lines = [...corpus.filter((_, i) => i % step === 0), ...SPECIAL_TOKEN_LINES, ...UNICODE_WHITESPACE_LINES];
      const ref = (l: string, special: boolean): number[] => Array.from(model.tokenize(l, special) as number[]);
      assertSameIds(`${label} (special tokens parsed)`, lines, (l) => tok.encode(l, { addSpecialTokens: false, parseSpecialTokens: true }), (l) => ref(l, true));
      const literal = [...lines.filter((_, i) => i % (5 * step) === 0), ...SPECIAL_TOKEN_LINES];
      assertSameIds(`${label} (special tokens as text)`, literal,
        (l) => tok.encode(l, { addSpecialTokens: false, parseSpecialTokens: false }), (l) => ref(l, false));
      const name = label.split(" ")[0];
      const cases = lines.map((l) => tok.encode(l, { addSpecialTokens: false, parseSpecialTokens: true }));
      if (!CLEAN_SPACES.has(name)) {
        assertSameText(`${label} decode`, cases, (ids) => tok.decode(ids), (ids) => model.detokenize(ids, true));
      }
      const eog: number[] = [];
      for (let id = 0; id < tok.vocabSize; id++) if (model.isEogToken(id)) eog.push(id);
      assert.equal([...tok.eosTokenIds].sort((a, b) => a - b), eog, "end-of-generation ids");
      assert.is(tok.bosTokenId, model.tokens.bos ?? undefined, "BOS id");
      assert.is(tok.addBosToken, model.tokens.shouldPrependBosToken, "add BOS");
      assert.equal(tok.encode("Hello")[0] === tok.bosTokenId, tok.addBosToken);
      console.log(`  ${label}: bos ${tok.bosTokenId} (added: ${tok.addBosToken}), end of generation ${eog.join(", ")}`);
    } finally {
      await model.dispose();
    }
  });
}

test("SmolLM2 GGUF: the default model's vocabulary and chat template", () => {
  const tok = vocab(smolLM2Path());
  assert.is(tok.vocabSize, 49152);
  assert.is(tok.description, "gguf gpt2 (smollm)");
  assert.is(tok.bosToken, "<|im_start|>");
  assert.is(tok.eosToken, "<|im_end|>");
  assert.ok(tok.chatTemplate?.includes("<|im_start|>"));
  const ids = tok.encode("<|im_start|>user\nHi<|im_end|>\n", { addSpecialTokens: false, parseSpecialTokens: true });
  assert.is(ids[0], 1);
  assert.ok(tok.isSpecial(1) && tok.isSpecial(2));
  assert.is(tok.decode(ids, { skipSpecialTokens: true }), "user\nHi\n");
});

test("speed: 1 MB in a few seconds, a 150k vocabulary loads in well under two seconds", () => {
  const text = bigText(1_000_000);
  for (const file of [smolLM2Path(), llamaCppVocab("llama-spm")]) {
    const tok = vocab(file);
    const t0 = performance.now();
    const n = tok.encode(text).length;
    const s = (performance.now() - t0) / 1000;
    console.log(`  ${file.split("/").pop()}: 1 MB → ${n} tokens in ${s.toFixed(2)} s`);
    assert.ok(s < 10, `${s.toFixed(1)} s`);
  }
  const meta = ggufMeta(llamaCppVocab("qwen2"));
  const t0 = performance.now();
  const qwen = Tokenizer.fromGGUF(meta);
  const ms = performance.now() - t0;
  console.log(`  qwen2 vocabulary (${qwen.vocabSize} tokens, 151387 merges) built in ${ms.toFixed(0)} ms`);
  assert.ok(ms < 3000, `${ms.toFixed(0)} ms`);
});

function rejects(label: string, mutate: (m: Map<string, GGUFValue>) => void, code = "TOKENIZER"): void {
  const base = ggufMeta(llamaCppVocab("gpt-2")).map;
  const map = new Map(base);
  for (const k of ["tokenizer.ggml.tokens", "tokenizer.ggml.merges"]) map.set(k, [...(base.get(k) as string[])]);
  mutate(map);
  try {
    Tokenizer.fromGGUF(new GGUFMeta(map, "broken.gguf"));
  } catch (e) {
    assert.instance(e, DbllmError, `${label}: ${String(e)}`);
    assert.is((e as DbllmError).code, code, `${label}: ${(e as Error).message}`);
    console.log(`  ok ${label} → ${code}: ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${label}: accepted`);
}

test("malformed GGUF vocabularies → DbllmError TOKENIZER", () => {
  const n = 50257;
  rejects("no tokenizer", (m) => m.delete("tokenizer.ggml.model"));
  rejects("unsupported tokenizer model", (m) => m.set("tokenizer.ggml.model", "t5"));
  rejects("unsupported pre-tokenizer", (m) => m.set("tokenizer.ggml.pre", "no-such-pre"));
  rejects("token_type length mismatch", (m) => m.set("tokenizer.ggml.token_type", new Int32Array(n - 1).fill(1)));
  rejects("token_type of the wrong array type", (m) => m.set("tokenizer.ggml.token_type", new Float32Array(n)));
  rejects("unknown token type", (m) => m.set("tokenizer.ggml.token_type", new Int32Array(n).fill(9)));
  rejects("scores length mismatch", (m) => m.set("tokenizer.ggml.scores", new Float32Array(10)));
  rejects("merge naming an unknown token", (m) => { (m.get("tokenizer.ggml.merges") as string[])[7] = "Ġthe qqqunknown"; });
  rejects("merge without a separator", (m) => { (m.get("tokenizer.ggml.merges") as string[])[7] = "nospace"; });
  rejects("merges missing", (m) => m.delete("tokenizer.ggml.merges"));
  rejects("duplicate token", (m) => { (m.get("tokenizer.ggml.tokens") as string[])[500] = "Ġthe"; });
  rejects("tokens missing", (m) => m.delete("tokenizer.ggml.tokens"));
  rejects("tokens not strings", (m) => m.set("tokenizer.ggml.tokens", new Int32Array(5)));
  rejects("BOS id outside the vocabulary", (m) => m.set("tokenizer.ggml.bos_token_id", n + 5));
  rejects("EOS id not an integer", (m) => m.set("tokenizer.ggml.eos_token_id", "2"));
});

test.run();
