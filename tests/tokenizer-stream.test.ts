// Decoding: round trips where the tokenizer is lossless, the stream decoder equal to decode() on the corpus and on
// adversarial byte sequences (never a split character), SentencePiece's leading space, and bad input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { smolLM2Path } from "../scripts/assets.ts";
import { DbllmError } from "../src/errors.ts";
import { Tokenizer } from "../src/tokenizer/index.ts";
import {
  corpusLines, describeCounts, ggufTokenizer, gpt2TokenizerJson, hfTokenizer, llamaCppVocab, SPECIAL_TOKEN_LINES,
  UNICODE_WHITESPACE_LINES,
} from "./helpers/corpus.ts";

const corpus = corpusLines();
const plain = [...corpus, ...UNICODE_WHITESPACE_LINES];
const withSpecial = [...plain, ...SPECIAL_TOKEN_LINES];

function streamed(tok: Tokenizer, ids: readonly number[], skipSpecialTokens = false): { text: string; pieces: string[] } {
  const d = tok.createStreamDecoder({ skipSpecialTokens });
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  return { text: pieces.join(""), pieces };
}

/** Counts lines where `check` fails; prints the count and the first failure; fails the test if any. */
function expectAll(label: string, lines: readonly string[], check: (line: string) => string | undefined): void {
  let failures = 0;
  let first = "";
  for (const line of lines) {
    const problem = check(line);
    if (problem !== undefined && failures++ === 0) first = `\n  first failure on ${JSON.stringify(line.slice(0, 200))}: ${problem}`;
  }
  console.log(`  ${label}: ${describeCounts(lines)}, ${failures} failures${first}`);
  assert.is(failures, 0, `${label}: ${failures} failures${first}`);
}

// name → [tokenizer, lines on which decode(encode(x)) === x must hold]
const lossless: [string, () => Tokenizer, (l: string) => boolean][] = [
  ["SmolLM2 GGUF", () => ggufTokenizer(smolLM2Path()), () => true],
  ["Llama-3 tokenizer.json", () => hfTokenizer("llama3"), () => true],
  ["GPT-2 tokenizer.json", () => Tokenizer.fromHF(gpt2TokenizerJson()), () => true],
  ["llama-bpe GGUF", () => ggufTokenizer(llamaCppVocab("llama-bpe")), () => true],
  ["qwen2 GGUF", () => ggufTokenizer(llamaCppVocab("qwen2")), () => true],
  // Qwen3 normalizes to NFC; SentencePiece vocabularies write spaces as ▁, so a literal ▁ comes back as a space
  ["Qwen3 tokenizer.json", () => hfTokenizer("qwen3"), (l) => l.normalize("NFC") === l],
  ["LLaMA-2 GGUF", () => ggufTokenizer(llamaCppVocab("llama-spm")), (l) => !l.includes("\u2581")],
  ["Mistral tokenizer.json", () => hfTokenizer("llama2"), (l) => !l.includes("\u2581")],
];

for (const [name, make, applies] of lossless) {
  test(`${name}: decode(encode(x)) === x, and the stream decoder gives decode() on every line`, () => {
    const tok = make();
    expectAll(`${name} round trip`, plain.filter(applies), (l) => {
      const back = tok.decode(tok.encode(l, { addSpecialTokens: false }));
      return back === l ? undefined : `got ${JSON.stringify(back.slice(0, 200))}`;
    });
    expectAll(`${name} stream = decode`, withSpecial, (l) => {
      const ids = tok.encode(l);
      for (const skip of [false, true]) {
        const whole = tok.decode(ids, { skipSpecialTokens: skip });
        const { text } = streamed(tok, ids, skip);
        if (text !== whole) return `skipSpecialTokens=${skip}: stream ${JSON.stringify(text)} ≠ decode ${JSON.stringify(whole)}`;
      }
      return undefined;
    });
  });
}

/** Deterministic xorshift in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

test("stream decoder on adversarial byte-fallback sequences (LLaMA-2 <0xXX> tokens)", () => {
  const tok = ggufTokenizer(llamaCppVocab("llama-spm"));
  const byte = (b: number) => tok.tokenToId(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!;
  // one emoji as four byte tokens: nothing until the character is complete
  const grin = [0xf0, 0x9f, 0x98, 0x80].map(byte);
  assert.equal(streamed(tok, grin).pieces, ["", "", "", "😀", ""]);
  // an emoji the vocabulary lacks comes out of encode() as byte tokens, and streams back whole
  const ids = tok.encode("a🦙b", { addSpecialTokens: false });
  const { pieces } = streamed(tok, ids);
  assert.ok(pieces.includes("🦙"), `pieces ${JSON.stringify(pieces)}`);
  assert.is(pieces.join(""), "a🦙b");
  // malformed UTF-8: U+FFFD exactly where decode() puts it
  const malformed = [[0x80], [0xf0, 0x9f], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff, 0xfe]];
  for (const bytes of malformed) {
    const seq = [tok.tokenToId("▁x")!, ...bytes.map(byte), tok.tokenToId("▁y")!];
    assert.is(streamed(tok, seq).text, tok.decode(seq), `bytes ${bytes.map((b) => b.toString(16))}`);
    assert.ok(tok.decode(seq).includes("\ufffd"));
  }
  // fuzz: random mixes of byte tokens (mostly UTF-8 lead/continuation bytes), words and special tokens
  const rand = rng(7);
  const words = tok.encode("The whale, the sea — and ünïcödé 東京 😀", { addSpecialTokens: false });
  let n = 0;
  for (let c = 0; c < 3000; c++) {
    const seq: number[] = [];
    const len = 1 + Math.floor(rand() * 16);
    for (let i = 0; i < len; i++) {
      const r = rand();
      if (r < 0.6) seq.push(byte(r < 0.3 ? 0x80 + Math.floor(rand() * 64) : 0xc0 + Math.floor(rand() * 64)));
      else if (r < 0.9) seq.push(words[Math.floor(rand() * words.length)]);
      else seq.push(1 + Math.floor(rand() * 2)); // <s>, </s>
    }
    for (const skip of [false, true]) {
      const { text, pieces } = streamed(tok, seq, skip);
      assert.is(text, tok.decode(seq, { skipSpecialTokens: skip }), `sequence ${seq}`);
      for (const p of pieces) assert.not.match(p, /\p{Surrogate}/u);
    }
    n++;
  }
  console.log(`  ${n} random byte-fallback sequences × 2 (with and without special tokens): stream = decode`);
});

test("stream decoder on byte-level BPE pieces of multi-byte characters (random ids from the vocabulary)", () => {
  const tok = ggufTokenizer(smolLM2Path());
  const family = "👨‍👩‍👧‍👦";
  const ids = tok.encode(family, { addSpecialTokens: false });
  assert.ok(ids.length > 1, "several tokens for one grapheme");
  const { pieces, text } = streamed(tok, ids);
  assert.is(text, family);
  for (const p of pieces) assert.ok([...p].every((ch) => family.includes(ch)), `piece ${JSON.stringify(p)} splits a character`);
  const rand = rng(11);
  for (let c = 0; c < 3000; c++) {
    const seq = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * tok.vocabSize));
    assert.is(streamed(tok, seq).text, tok.decode(seq), `ids ${seq}`);
  }
  console.log("  3000 random id sequences: stream = decode");
});

test("SentencePiece leading space: stripped once at the start of the output, the same way in stream and decode", () => {
  const tok = ggufTokenizer(llamaCppVocab("llama-spm"));
  const the = tok.tokenToId("▁The")!;
  assert.is(tok.decode([the, the]), "The The");
  assert.is(tok.decode([1, the]), "<s> The");
  assert.is(tok.decode([1, the], { skipSpecialTokens: true }), "The");
  // the space prefix the encoder added is what the decoder strips: after a visible <s> it stays
  assert.is(tok.decode(tok.encode("  two spaces")), "<s>   two spaces");
  assert.is(tok.decode(tok.encode("  two spaces"), { skipSpecialTokens: true }), "  two spaces");
  const space = tok.tokenToId("<0x20>")!;
  assert.is(tok.decode([space, space, the]), "  The", "one of the three spaces is the decoder's");
  for (const [ids, skip] of [[[the, the], false], [[1, the], false], [[1, the], true], [[space, space, the], false]] as const) {
    assert.is(streamed(tok, ids, skip).text, tok.decode(ids, { skipSpecialTokens: skip }));
  }
  // Mistral's tokenizer.json says the same with a Strip decoder
  const mistral = hfTokenizer("llama2");
  assert.is(mistral.decode(mistral.encode("Hello world")), "<s> Hello world");
  assert.is(mistral.decode(mistral.encode("Hello world"), { skipSpecialTokens: true }), "Hello world");
  assert.is(streamed(mistral, mistral.encode("Hello world"), true).text, "Hello world");
});

test("stream decoding is O(1) per token", () => {
  const tok = ggufTokenizer(smolLM2Path());
  const ids = tok.encode(corpus.slice(0, 400).join("\n"), { addSpecialTokens: false });
  const time = (count: number): number => {
    const d = tok.createStreamDecoder();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) d.push(ids[i % ids.length]);
    d.flush();
    return performance.now() - t0;
  };
  time(20_000); // warm up
  const small = time(50_000), large = time(250_000);
  console.log(`  50k tokens: ${small.toFixed(0)} ms, 250k tokens: ${large.toFixed(0)} ms`);
  assert.ok(large < 2000, `${large} ms for 250k tokens`);
  assert.ok(large < small * 5 * 2.5 + 50, `grows faster than linearly: ${small} ms → ${large} ms`);
});

function rejects(label: string, code: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, DbllmError, `${label}: ${String(e)}`);
    assert.is((e as DbllmError).code, code, `${label}: ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${label}: accepted`);
}

test("bad input: lone surrogates → INVALID_TEXT, bad ids → INVALID_ARGUMENT, empty input is fine", () => {
  for (const tok of [ggufTokenizer(smolLM2Path()), ggufTokenizer(llamaCppVocab("llama-spm")), hfTokenizer("llama3")]) {
    for (const text of ["a\ud800b", "\udc00", "end\ud83d", "\ud83d\ud83d\ude00"]) {
      rejects(`${tok.description} ${JSON.stringify(text)}`, "INVALID_TEXT", () => tok.encode(text));
    }
    assert.ok(tok.encode("ok \ud83d\ude00").length > 0, "a surrogate pair is fine");
    for (const ids of [[-1], [tok.vocabSize], [1.5], [Number.NaN]]) {
      rejects(`decode ${ids}`, "INVALID_ARGUMENT", () => tok.decode(ids));
      rejects(`stream ${ids}`, "INVALID_ARGUMENT", () => tok.createStreamDecoder().push(ids[0]));
    }
    assert.is(tok.decode([]), "");
    assert.equal(tok.encode("", { addSpecialTokens: false }), []);
    assert.equal(tok.encode(""), tok.addBosToken ? [tok.bosTokenId] : []);
    assert.is(tok.idToToken(-1), undefined);
    assert.is(tok.idToToken(tok.vocabSize), undefined);
    assert.is(tok.tokenToId("no such token ~~~"), undefined);
  }
});

test.run();
