// The encoding engine of HF tokenizer.json files: @huggingface/tokenizers (the reference JS port of HF tokenizers)
// — and the one module that patches its internals and declares the typed view of them dbllm reads
// (EngineInternals; hf.ts reads the vocabulary and the post-processor through it), which is why package.json
// pins it at exactly 0.2.0. Its public API is `encode(text)` with every added token parsed; dbllm needs four
// things it does not offer:
//  1. Speed, same ids: SentencePiece-style BPE (Llama-2, Mistral: no pre-tokenizer, the whole text is one "word")
//     is cut into ▁-words before the BPE when the vocabulary proves that no merge crosses a word start, and BPE
//     results are memoized per word — the model's `encode` is wrapped. Without it 1 MB of text takes 17.7 s with
//     Mistral's vocabulary (measured; tests/tokenizer-hf.test.ts allows 10 s), with it about 2.5 s.
//  2. Correct ids: the GPT-2 ByteLevel pre-tokenizer regex uses JavaScript's `\s`, which wrongly includes U+FEFF
//     and misses U+0085; its `pattern` is replaced by the same regex over Unicode White_Space, as HF's Rust library
//     and llama.cpp use (without it GPT-2's tokenizer.json and llama.cpp's ggml-vocab-gpt-2.gguf disagree on
//     "x \ufeffy" in the parity test).
//  3. Special-token texts that must stay text (parseSpecialTokens: false, chat content): the normalizer →
//     pre-tokenizer → model → post-processor pipeline is run on the pieces between the added tokens allowed to match.
//  4. Validation: the vocabulary's ids and the merges as the engine parsed them (it accepts merges naming unknown
//     tokens; the Rust library and dbllm do not).
// A newer version that renames these fields fails tests/tokenizer-hf.test.ts, not users: the pin stays until then.
import { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { DbllmError } from "../errors.ts";
import { missingByteError } from "./byte-level.ts";
import { canSplitAtSpaceMarks, splitAtSpaceMarks } from "./spm.ts";
import { WordCache } from "./word-cache.ts";

type Json = Record<string, unknown>;

export const bad = (message: string): DbllmError => new DbllmError("TOKENIZER", `tokenizer.json: ${message}`);
/** No real vocabulary comes near this; a larger id is a damaged file (and would size arrays absurdly). */
export const MAX_VOCAB = 1 << 24;

export interface AddedToken { id: number; content: string; special: boolean; lstrip: boolean; rstrip: boolean }

/** The parts of an @huggingface/tokenizers 0.2.0 Tokenizer that dbllm uses beyond its public API. */
export interface EngineInternals {
  model: ((words: string[]) => string[]) & {
    vocab: (string | undefined)[]; encode: (words: string[]) => string[]; unk_token?: string | null;
    merges?: unknown; tokens_to_ids: Map<string, number>;
  };
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string, options: object) => string[]) | null;
  post_processor: ((tokens: string[], pair: null, addSpecial: boolean) => { tokens: string[] }) | null;
}

/** The engine over a checked tokenizer.json, with corrections 1, 2 and 4 applied. */
export function openEngine(json: Json, added: AddedToken[], config: Json, byteLevel: boolean): { hf: HFTokenizer; engine: EngineInternals } {
  let hf: HFTokenizer;
  try {
    hf = new HFTokenizer({
      normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null,
      ...json,
      added_tokens: added.length > 0 ? json.added_tokens : [],
    }, config);
  } catch (e) {
    throw new DbllmError("TOKENIZER", `tokenizer.json was rejected: ${(e as Error).message}`, { cause: e });
  }
  const engine = hf as unknown as EngineInternals;
  const model = json.model as Json;
  for (const [token, id] of engine.model.tokens_to_ids) {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_VOCAB) throw bad(`vocab entry ${JSON.stringify(token)} has id ${JSON.stringify(id)}`);
  }
  if (Array.isArray(model.merges)) validateMerges(model, engine.model.merges, engine.model.tokens_to_ids);
  if (model.type === "BPE" || model.merges !== undefined) memoizeWords(engine, model, byteLevel);
  fixByteLevelRegex(engine.pre_tokenizer);
  return { hf, engine };
}

/**
 * Every merge must be a pair of vocabulary tokens whose concatenation is a token too (HF's Rust library refuses
 * the file otherwise; the JS port silently produces unknown tokens). Checked on the engine's own parsed pairs.
 */
function validateMerges(model: Json, parsed: unknown, tokensToIds: ReadonlyMap<string, number>): void {
  const raw = model.merges as unknown[];
  const pairs = parsed as unknown[];
  const prefix = typeof model.continuing_subword_prefix === "string" ? model.continuing_subword_prefix.length : 0;
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i];
    if (typeof m === "string" ? m.indexOf(" ") < 0 || m.indexOf(" ") !== m.lastIndexOf(" ") : !(Array.isArray(m) && m.length === 2)) {
      throw bad(`merge #${i} ${JSON.stringify(m)} is not "left right"`);
    }
    const [a, b] = pairs[i] as [unknown, unknown];
    if (typeof a !== "string" || typeof b !== "string") throw bad(`merge #${i} ${JSON.stringify(m)} is not a pair of strings`);
    const missing = !tokensToIds.has(a) ? a : !tokensToIds.has(b) ? b : !tokensToIds.has(a + b.slice(prefix)) ? a + b.slice(prefix) : undefined;
    if (missing !== undefined) throw bad(`merge #${i} ${JSON.stringify(m)} names ${JSON.stringify(missing)}, which is not in the vocabulary`);
  }
}

/**
 * Correction 1: BPE results memoized per word (the engine's LRU holds 10k words and thrashes on real text), and
 * SentencePiece-style BPE cut into ▁-words first.
 */
function memoizeWords(engine: EngineInternals, model: Json, byteLevel: boolean): void {
  const vocab = model.vocab;
  const split = typeof vocab === "object" && vocab !== null && !Array.isArray(vocab) && Object.hasOwn(vocab, "\u2581") && !model.ignore_merges &&
    !model.end_of_word_suffix && !model.continuing_subword_suffix && canSplitAtSpaceMarks(Object.keys(vocab));
  const encodeWords = engine.model.encode.bind(engine.model);
  const cache = new WordCache<string[]>();
  // Byte-level BPE without an unknown token drops characters it has no token for (a vocabulary lacking some
  // byte values); the pieces of a word then no longer add up to the word. That is refused instead.
  const lossless = byteLevel && !engine.model.unk_token && !model.continuing_subword_prefix && !model.end_of_word_suffix;
  const encodeWord = (word: string, out: string[]): void => {
    let tokens = cache.get(word);
    if (tokens === undefined) {
      tokens = encodeWords([word]);
      if (lossless && tokens.reduce((n, t) => n + t.length, 0) !== word.length) throw missingByteError(word, (t) => engine.model.tokens_to_ids.has(t));
      cache.set(word, tokens);
    }
    for (const t of tokens) out.push(t);
  };
  engine.model.encode = (words) => {
    const out: string[] = [];
    for (const w of words) {
      if (split) for (const part of splitAtSpaceMarks(w)) encodeWord(part, out);
      else encodeWord(w, out);
    }
    return out;
  };
}

const JS_GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** Correction 2: ByteLevel pre-tokenizers (also inside a Sequence) get the White_Space version of their regex. */
function fixByteLevelRegex(pre: unknown): void {
  if (!pre || (typeof pre !== "object" && typeof pre !== "function")) return;
  const p = pre as { pattern?: unknown; byte_encoder?: unknown; tokenizers?: unknown };
  if (p.pattern instanceof RegExp && p.byte_encoder !== undefined && p.pattern.source === JS_GPT2_PATTERN.source) {
    p.pattern = new RegExp(GPT2_PATTERN.source, "gu");
  }
  if (Array.isArray(p.tokenizers)) p.tokenizers.forEach(fixByteLevelRegex);
}

/**
 * Correction 3: encodes `text` with only the added tokens `matchable` accepts as tokens (leftmost-longest, as the
 * engine's own splitter finds them); the rest runs through the engine's normalizer → pre-tokenizer → model →
 * post-processor. `pattern` matches any added token's content.
 */
export function encodeSections(
  hf: HFTokenizer, engine: EngineInternals, unk: number | undefined, text: string, addSpecial: boolean, pattern: RegExp,
  byContent: ReadonlyMap<string, AddedToken>, matchable: (t: AddedToken, start: number, end: number) => boolean,
): number[] {
  const tokens: string[] = [];
  findAdded(text, pattern, byContent, matchable).forEach((section, sectionIndex) => {
    if (typeof section !== "string") { tokens.push(section.content); return; }
    const normalized = engine.normalizer ? engine.normalizer(section) : section;
    if (normalized.length === 0) return;
    const words = engine.pre_tokenizer ? engine.pre_tokenizer(normalized, { section_index: sectionIndex }) : [normalized];
    tokens.push(...engine.model(words));
  });
  const final = engine.post_processor ? engine.post_processor(tokens, null, addSpecial).tokens : tokens;
  return final.map((t) => byContent.get(t)?.id ?? hf.token_to_id(t) ?? unk ?? -1);
}

/**
 * Every occurrence of the added tokens in `text`, leftmost-longest as the engine's own splitter finds them, except
 * those `matchable` refuses (which stay text; a shorter token may then match inside them).
 */
function findAdded(text: string, pattern: RegExp, byContent: ReadonlyMap<string, AddedToken>, matchable: (t: AddedToken, start: number, end: number) => boolean): (string | AddedToken)[] {
  const sections: (string | AddedToken)[] = [];
  let from = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const token = byContent.get(m[0])!;
    if (!matchable(token, m.index, m.index + m[0].length)) { pattern.lastIndex = m.index + 1; continue; }
    if (m.index > from) sections.push(text.slice(from, m.index));
    sections.push(token);
    from = m.index + m[0].length;
  }
  if (from < text.length) sections.push(text.slice(from));
  // lstrip / rstrip: the token swallows the whitespace next to it, as in the engine's encode_text
  sections.forEach((t, i) => {
    if (typeof t === "string") return;
    if (t.lstrip && typeof sections[i - 1] === "string") sections[i - 1] = (sections[i - 1] as string).trimEnd();
    if (t.rstrip && typeof sections[i + 1] === "string") sections[i + 1] = (sections[i + 1] as string).trimStart();
  });
  return sections;
}
