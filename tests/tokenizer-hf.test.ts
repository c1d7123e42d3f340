// Tokenizer.fromHF on real tokenizer.json files (Mistral, Llama-3, Qwen3, GPT-2): ids identical to
// @huggingface/tokenizers (and to gpt-3-encoder, and to our llama.cpp-exact GGUF path on the same vocabularies),
// decoding identical to HF's decoders, speed, and malformed files rejected.
import { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { encode as gpt3Encode } from "gpt-3-encoder";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError } from "../src/errors.ts";
import { Tokenizer } from "../src/tokenizer/index.ts";
import {
  assertSameIds, assertSameText, bigText, corpusLines, ggufTokenizer, gpt2TokenizerJson, hfTokenizer, lenmlFiles, llamaCppVocab,
  SPECIAL_TOKEN_LINES, UNICODE_WHITESPACE_LINES,
} from "./helpers/corpus.ts";

const corpus = corpusLines();
const allLines = [...corpus, ...SPECIAL_TOKEN_LINES, ...UNICODE_WHITESPACE_LINES];

interface Loaded { ours: Tokenizer; ref: HFTokenizer; loadMs: number }
const loaded = new Map<string, Loaded>();
function load(name: "llama2" | "llama3" | "qwen3"): Loaded {
  let l = loaded.get(name);
  if (!l) {
    const { json, config } = lenmlFiles(name);
    const ours = hfTokenizer(name);
    l = { ours, ref: new HFTokenizer(json, config), loadMs: ours.loadMs ?? 0 };
    loaded.set(name, l);
  }
  return l;
}

const PARSE = { parseSpecialTokens: true } as const;

const refDecode = (ref: HFTokenizer, skip: boolean) => (ids: number[]): string =>
  ids.length === 0 ? "" : ref.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });

for (const [name, label] of [["llama2", "Mistral"], ["llama3", "Llama-3"], ["qwen3", "Qwen3"]] as const) {
  test(`${label} tokenizer.json: ids identical to @huggingface/tokenizers`, () => {
    const { ours, ref, loadMs } = load(name);
    console.log(`  ${label}: ${ours.description}, ${ours.vocabSize} tokens, loaded in ${loadMs.toFixed(0)} ms`);
    // the HF reference parses special tokens written in the text; dbllm does when asked to
    assertSameIds(`${label} encode (add special tokens)`, allLines, (l) => ours.encode(l, PARSE), (l) => ref.encode(l).ids);
    const some = allLines.filter((_, i) => i % 10 === 0);
    assertSameIds(`${label} encode (no special tokens)`, some,
      (l) => ours.encode(l, { addSpecialTokens: false, parseSpecialTokens: true }), (l) => ref.encode(l, { add_special_tokens: false }).ids);
  });

  test(`${label} tokenizer.json: decode identical to HF's decoder`, () => {
    const { ours, ref } = load(name);
    const cases = allLines.map((l) => ours.encode(l, PARSE));
    assertSameText(`${label} decode`, cases, (ids) => ours.decode(ids), refDecode(ref, false));
    assertSameText(`${label} decode skipping special tokens`, cases, (ids) => ours.decode(ids, { skipSpecialTokens: true }), refDecode(ref, true));
  });
}

test("special tokens, BOS/EOS and templates from tokenizer_config.json", () => {
  const mistral = load("llama2").ours, llama3 = load("llama3").ours, qwen3 = load("qwen3").ours;
  assert.is(mistral.bosTokenId, 1);
  assert.equal(mistral.eosTokenIds, [2]);
  assert.ok(mistral.addBosToken);
  assert.equal(mistral.encode("Hi").slice(0, 1), [1]);
  assert.ok(mistral.isSpecial(1) && mistral.isSpecial(2) && !mistral.isSpecial(415));
  assert.is(mistral.idToToken(415), "▁The");
  assert.is(mistral.tokenToId("▁The"), 415);

  // this Llama-3 tokenizer.json has a ByteLevel post-processor: no BOS added; its template writes BOS itself
  assert.is(llama3.bosTokenId, 128000);
  assert.not.ok(llama3.addBosToken);
  assert.ok(llama3.eosTokenIds.includes(128001) && llama3.eosTokenIds.includes(128009), `eos ${llama3.eosTokenIds}`);
  assert.ok(llama3.chatTemplate?.includes("<|start_header_id|>"));
  assert.equal(llama3.encode("<|eot_id|>", { addSpecialTokens: false, parseSpecialTokens: true }), [128009]);

  assert.is(qwen3.bosTokenId, undefined);
  assert.equal(qwen3.eosTokenIds.slice(0, 1), [151645]); // <|im_end|> from the config first
  assert.ok(qwen3.eosTokenIds.includes(151643));
  assert.not.ok(qwen3.eosTokenIds.includes(qwen3.tokenToId("</s>")!), "a plain vocabulary entry that looks like EOS is not one");
  assert.ok(qwen3.chatTemplate?.includes("<|im_start|>"));
  assert.ok(qwen3.isSpecial(151644));
  assert.not.ok(qwen3.isSpecial(151657), "<tool_call> is an added token but not special");
});

test("parseSpecialTokens: false keeps special tokens as text, still matches non-special added tokens", () => {
  const { ours, ref } = load("qwen3");
  const text = "<|im_start|>user\nhello <tool_call> world<|im_end|>";
  const parsed = ours.encode(text, PARSE);
  const literal = ours.encode(text, { parseSpecialTokens: false });
  assert.equal(ours.encode(text), literal, "text is text by default");
  assert.ok(parsed.includes(151644) && parsed.includes(151657));
  assert.not.ok(literal.includes(151644), "no <|im_start|> id");
  assert.ok(literal.includes(151657), "<tool_call> (not special) still one token");
  assert.is(ours.decode(literal), text);
  // ids from HF's Rust library with encode_special_tokens = True (tokenizers 0.23.3)
  assert.equal(ours.encode("<|im_start|>user <tool_call>", { parseSpecialTokens: false }), [27, 91, 318, 4906, 91, 29, 872, 220, 151657]);
  const mistral = load("llama2").ours;
  assert.equal(mistral.encode("<s>", { parseSpecialTokens: false }), [1, 523, 28713, 28767]);
  assert.equal(mistral.encode("a <s> b</s>", { parseSpecialTokens: false }), [1, 264, 523, 28713, 28767, 287, 700, 28713, 28767]);
  // without any special token in the text the two modes are the same engine call
  assertSameIds("Qwen3 parseSpecialTokens:false on plain text", corpus.filter((_, i) => i % 10 === 0),
    (l) => ours.encode(l, { parseSpecialTokens: false }), (l) => ref.encode(l).ids);
});

test("GPT-2 tokenizer.json built from encoder.json + vocab.bpe: ids identical to gpt-3-encoder and to the GGUF vocab", () => {
  const ours = Tokenizer.fromHF(gpt2TokenizerJson());
  assert.is(ours.vocabSize, 50257);
  // gpt-3-encoder splits with JavaScript's \s (U+FEFF yes, U+0085 no); UNICODE_WHITESPACE_LINES are compared
  // with llama.cpp's GGUF tokenizer instead, which uses Unicode White_Space like HF's Rust library.
  assertSameIds("GPT-2 tokenizer.json vs gpt-3-encoder", corpus, (l) => ours.encode(l), (l) => gpt3Encode(l));
  const gguf = ggufTokenizer(llamaCppVocab("gpt-2"));
  assertSameIds("GPT-2 tokenizer.json vs ggml-vocab-gpt-2.gguf", allLines, (l) => ours.encode(l), (l) => gguf.encode(l));
});

test("the same vocabulary through both engines: Llama-3 tokenizer.json = ggml-vocab-llama-bpe.gguf, Qwen3 = qwen2", () => {
  const llama3 = load("llama3").ours;
  const llamaBpe = ggufTokenizer(llamaCppVocab("llama-bpe"));
  assertSameIds("Llama-3 HF vs GGUF", allLines,
    (l) => llama3.encode(l, { addSpecialTokens: false }), (l) => llamaBpe.encode(l, { addSpecialTokens: false }));
  // Qwen3's tokenizer.json adds an NFC normalizer the GGUF does not record, and llama.cpp promotes the plain
  // vocabulary entry "</s>" to a control token: lines affected by either are left out.
  const qwen3 = load("qwen3").ours;
  const qwen2 = ggufTokenizer(llamaCppVocab("qwen2"));
  const comparable = allLines.filter((l) => l.normalize("NFC") === l && !l.includes("</s>"));
  assertSameIds("Qwen3 HF vs Qwen2 GGUF", comparable, (l) => qwen3.encode(l), (l) => qwen2.encode(l));
});

test("speed: 1 MB of text in a few seconds (Mistral: the vocabulary that needs workaround 1)", () => {
  const { ours } = load("llama2");
  const t0 = performance.now();
  const n = ours.encode(bigText(1_000_000)).length;
  const s = (performance.now() - t0) / 1000;
  console.log(`  Mistral: 1 MB → ${n} tokens in ${s.toFixed(2)} s`);
  assert.ok(s < 10, `${s.toFixed(1)} s for 1 MB`);
  for (const [name, l] of loaded) assert.ok(l.loadMs < 5000, `${name} took ${l.loadMs.toFixed(0)} ms to load`);
});

function rejects(label: string, code: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, DbllmError, `${label}: ${String(e)}`);
    assert.is((e as DbllmError).code, code, `${label}: ${(e as Error).message}`);
    console.log(`  ok ${label} → ${code}: ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${label}: accepted`);
}

test("malformed tokenizer.json → DbllmError TOKENIZER", () => {
  const base = () => structuredClone(gpt2TokenizerJson()) as { model: Record<string, unknown>; [k: string]: unknown };
  rejects("not an object", "TOKENIZER", () => Tokenizer.fromHF("{}" as unknown as object));
  rejects("no model", "TOKENIZER", () => Tokenizer.fromHF({ added_tokens: [] }));
  const unknownMerge = base();
  (unknownMerge.model.merges as string[])[100] = "Ġthe zzzunknown";
  rejects("merge naming an unknown token", "TOKENIZER", () => Tokenizer.fromHF(unknownMerge));
  const unreachable = base();
  delete (unreachable.model.vocab as Record<string, number>)["Ġthe"]; // "Ġt he" now merges into nothing
  rejects("merge whose result is not a token", "TOKENIZER", () => Tokenizer.fromHF(unreachable));
  const badMerge = base();
  (badMerge.model.merges as string[])[5] = "nospace";
  rejects("merge without a separator", "TOKENIZER", () => Tokenizer.fromHF(badMerge));
  const badId = base();
  (badId.model.vocab as Record<string, number>)["Ġthe"] = -3;
  rejects("negative id", "TOKENIZER", () => Tokenizer.fromHF(badId));
  const badAdded = base();
  badAdded.added_tokens = [{ id: "x", content: "<|endoftext|>" }];
  rejects("added token without an id", "TOKENIZER", () => Tokenizer.fromHF(badAdded));
  const badDecoder = base();
  badDecoder.decoder = { type: "CTC" };
  rejects("unsupported decoder", "TOKENIZER", () => Tokenizer.fromHF(badDecoder));
  const badModel = base();
  badModel.model.type = "Fancy";
  rejects("unknown model type", "TOKENIZER", () => Tokenizer.fromHF(badModel));
  rejects("config not an object", "TOKENIZER", () => Tokenizer.fromHF(base(), [] as unknown as object));
});

test.run();
