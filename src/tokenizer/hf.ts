// HF tokenizer.json → TokenizerBackend. Encoding runs on @huggingface/tokenizers (the reference JS port of HF
// tokenizers), with two corrections:
//  1. Speed, same ids: SentencePiece-style BPE (Llama-2, Mistral: no pre-tokenizer, the whole text is one "word")
//     is cut into ▁-words before the BPE when the vocabulary proves that no merge crosses a word start, and BPE
//     results are memoized per word. Without this a 1 MB text takes ~25 s with Mistral's vocabulary (one
//     1M-symbol merge queue, no cache hits); with it about a second.
//  2. The GPT-2 ByteLevel pre-tokenizer regex uses JavaScript's `\s`, which wrongly includes U+FEFF and misses
//     U+0085; it is replaced by the same regex with Unicode White_Space, as HF's Rust library and llama.cpp use.
// Malformed files are rejected up front (the JS port accepts merges that name unknown tokens; the Rust library
// and we do not). Decoding is ours (tokenizer.ts): a byte string per token derived from the `decoder` section.
import { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { DbllmError } from "../errors.ts";
import { isRecord as isObject } from "../json.ts";
import { byteLevelDecode, missingByteError } from "./byte-level.ts";
import { END_OF_GENERATION_TEXTS, uniqueIds } from "./end-of-generation.ts";
import { anyOf } from "./special-split.ts";
import { canSplitAtSpaceMarks, splitAtSpaceMarks } from "./spm.ts";
import type { TokenizerBackend } from "./types.ts";
import { WordCache } from "./word-cache.ts";

type Json = Record<string, unknown>;

const bad = (message: string): DbllmError => new DbllmError("TOKENIZER", `tokenizer.json: ${message}`);
const utf8 = new TextEncoder();
/** No real vocabulary comes near this; a larger id is a damaged file (and would size arrays absurdly). */
const MAX_VOCAB = 1 << 24;

interface AddedToken { id: number; content: string; special: boolean; lstrip: boolean; rstrip: boolean }

/** What a `decoder` section does to each token, and to the start of the output. */
interface PieceRules {
  byteLevel: boolean;
  byteFallback: boolean;
  replaces: [from: string, to: string][];
  /** Spaces stripped from the start of every token (a Strip decoder before any Fuse). */
  perTokenStrip: number;
  /** Spaces stripped from the start of the output (Strip after Fuse, Metaspace). */
  stripLeading: number;
}

function readDecoder(decoder: unknown): PieceRules {
  const rules: PieceRules = { byteLevel: false, byteFallback: false, replaces: [], perTokenStrip: 0, stripLeading: 0 };
  if (decoder === null || decoder === undefined) return rules; // tokens are taken literally
  if (!isObject(decoder)) throw bad("decoder is not an object");
  const steps = decoder.type === "Sequence" ? decoder.decoders : [decoder];
  if (!Array.isArray(steps)) throw bad("decoder Sequence has no decoders list");
  let fused = false;
  for (const step of steps) {
    if (!isObject(step)) throw bad("decoder step is not an object");
    switch (step.type) {
      case "ByteLevel": rules.byteLevel = true; break;
      case "ByteFallback": rules.byteFallback = true; break;
      case "Fuse": fused = true; break;
      case "Replace": {
        const pattern = isObject(step.pattern) ? step.pattern.String : undefined;
        if (typeof pattern !== "string" || typeof step.content !== "string" || fused) {
          throw bad(`decoder Replace ${JSON.stringify(step.pattern)} is not supported (only a String pattern before Fuse)`);
        }
        rules.replaces.push([pattern, step.content]);
        break;
      }
      case "Strip": {
        // stop (trailing) strips are not applied: they cannot be streamed and no LLaMA-family tokenizer uses them
        if (step.content !== " ") throw bad(`decoder Strip of ${JSON.stringify(step.content)} is not supported`);
        const start = typeof step.start === "number" ? step.start : 0;
        if (fused) rules.stripLeading = start; else rules.perTokenStrip = start;
        break;
      }
      case "Metaspace": {
        const replacement = typeof step.replacement === "string" ? step.replacement : "\u2581";
        rules.replaces.push([replacement, " "]);
        const scheme = step.prepend_scheme ?? (step.add_prefix_space === false ? "never" : "always");
        if (scheme !== "never") rules.stripLeading = 1;
        break;
      }
      default:
        throw bad(`decoder ${JSON.stringify(step.type)} is not supported (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip are)`);
    }
  }
  return rules;
}

function pieceBytes(text: string, added: boolean, rules: PieceRules): Uint8Array {
  if (rules.byteLevel) return added ? utf8.encode(text) : byteLevelDecode(text);
  if (rules.byteFallback && text.length === 6 && /^<0x[0-9A-Fa-f]{2}>$/.test(text)) {
    return Uint8Array.of(parseInt(text.slice(3, 5), 16));
  }
  for (const [from, to] of rules.replaces) text = text.replaceAll(from, to);
  let i = 0;
  while (i < rules.perTokenStrip && text[i] === " ") i++;
  return utf8.encode(i > 0 ? text.slice(i) : text);
}

/** Checks the parts the engine trusts blindly; returns the added tokens. */
function validate(json: Json): AddedToken[] {
  const model = json.model;
  if (!isObject(model)) throw bad("no model section");
  const type = model.type;
  if (type !== undefined && type !== "BPE" && type !== "Unigram" && type !== "WordPiece") {
    throw bad(`model type ${JSON.stringify(type)} is not supported`);
  }
  const added: AddedToken[] = [];
  if (json.added_tokens !== undefined && json.added_tokens !== null) {
    if (!Array.isArray(json.added_tokens)) throw bad("added_tokens is not a list");
    for (const [i, t] of json.added_tokens.entries()) {
      if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || (t.id as number) >= MAX_VOCAB || typeof t.content !== "string" || t.content === "") {
        throw bad(`added_tokens[${i}] needs a non-negative integer id and a non-empty content`);
      }
      const twin = added.find((a) => a.id === t.id);
      if (twin) throw bad(`added_tokens[${i}] ${JSON.stringify(t.content)} has id ${t.id}, which ${JSON.stringify(twin.content)} already has`);
      added.push({ id: t.id as number, content: t.content, special: t.special === true, lstrip: t.lstrip === true, rstrip: t.rstrip === true });
    }
  }
  if (type === "Unigram" || Array.isArray(model.vocab)) {
    if (!Array.isArray(model.vocab)) throw bad("Unigram vocab is not a list");
    return added;
  }
  const vocab = model.vocab;
  if (!isObject(vocab)) throw bad("model.vocab is not an object");
  if ((type === "BPE" || model.merges !== undefined) && !Array.isArray(model.merges)) throw bad("BPE model has no merges list");
  return added;
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

const tokenContent = (v: unknown): string | undefined =>
  typeof v === "string" ? v : isObject(v) && typeof v.content === "string" ? v.content : undefined;

function chatTemplateOf(config: Json): string | undefined {
  const t = config.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) { // [{ name, template }]: the "default" one, else the first
    const named = t.filter((x): x is Json => isObject(x) && typeof x.template === "string");
    return (named.find((x) => x.name === "default") ?? named[0])?.template as string | undefined;
  }
  return undefined;
}

const JS_GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** Workaround 2: ByteLevel pre-tokenizers (also inside a Sequence) get the White_Space version of their regex. */
function fixByteLevelRegex(pre: unknown): void {
  if (!pre || (typeof pre !== "object" && typeof pre !== "function")) return;
  const p = pre as { pattern?: unknown; byte_encoder?: unknown; tokenizers?: unknown };
  if (p.pattern instanceof RegExp && p.byte_encoder !== undefined && p.pattern.source === JS_GPT2_PATTERN.source) {
    p.pattern = new RegExp(GPT2_PATTERN.source, "gu");
  }
  if (Array.isArray(p.tokenizers)) p.tokenizers.forEach(fixByteLevelRegex);
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

export function hfBackend(tokenizerJson: unknown, tokenizerConfig?: unknown, generationConfig?: unknown): TokenizerBackend {
  if (!isObject(tokenizerJson)) throw bad("must be a JSON object (parse the file first)");
  if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isObject(tokenizerConfig)) {
    throw new DbllmError("TOKENIZER", "tokenizer_config.json must be a JSON object");
  }
  if (generationConfig !== undefined && generationConfig !== null && !isObject(generationConfig)) {
    throw new DbllmError("INVALID_CONFIG", "generation_config.json must be a JSON object");
  }
  const config: Json = tokenizerConfig ?? {};
  const generation: Json = generationConfig ?? {};
  const addedTokens = validate(tokenizerJson);
  const rules = readDecoder(tokenizerJson.decoder);

  let hf: HFTokenizer;
  try {
    hf = new HFTokenizer({
      normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null,
      ...tokenizerJson,
      added_tokens: addedTokens.length > 0 ? tokenizerJson.added_tokens : [],
    }, config);
  } catch (e) {
    throw new DbllmError("TOKENIZER", `tokenizer.json was rejected: ${(e as Error).message}`, { cause: e });
  }
  const engine = hf as unknown as {
    model: ((words: string[]) => string[]) & {
      vocab: (string | undefined)[]; encode: (words: string[]) => string[]; unk_token?: string | null;
      merges?: unknown; tokens_to_ids: Map<string, number>;
    };
    normalizer: ((text: string) => string) | null;
    pre_tokenizer: ((text: string, options: object) => string[]) | null;
    post_processor: ((tokens: string[], pair: null, addSpecial: boolean) => { tokens: string[] }) | null;
  };

  const model = tokenizerJson.model as Json;
  for (const [token, id] of engine.model.tokens_to_ids) {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_VOCAB) throw bad(`vocab entry ${JSON.stringify(token)} has id ${JSON.stringify(id)}`);
  }
  if (Array.isArray(model.merges)) validateMerges(model, engine.model.merges, engine.model.tokens_to_ids);

  // Workaround 1 (speed, same ids): BPE results memoized per word (the engine's LRU holds 10k words and thrashes on
  // real text), and SentencePiece-style BPE cut into ▁-words first.
  const vocab = model.vocab;
  if (model.type === "BPE" || model.merges !== undefined) {
    const split = isObject(vocab) && Object.hasOwn(vocab, "\u2581") && !model.ignore_merges && !model.end_of_word_suffix &&
      !model.continuing_subword_suffix && canSplitAtSpaceMarks(Object.keys(vocab));
    const encodeWords = engine.model.encode.bind(engine.model);
    const cache = new WordCache<string[]>();
    // Byte-level BPE without an unknown token drops characters it has no token for (a vocabulary lacking some
    // byte values); the pieces of a word then no longer add up to the word. That is refused instead.
    const lossless = rules.byteLevel && !engine.model.unk_token && !model.continuing_subword_prefix && !model.end_of_word_suffix;
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
  // Workaround 2 (correctness): Unicode White_Space in the GPT-2 ByteLevel regex.
  fixByteLevelRegex(engine.pre_tokenizer);

  const vocabSize = engine.model.vocab.length;
  const addedIds = new Set(addedTokens.map((t) => t.id));
  const special = new Set(addedTokens.filter((t) => t.special).map((t) => t.id));
  for (const extra of Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens : []) {
    const content = tokenContent(extra);
    const id = content === undefined ? undefined : hf.token_to_id(content);
    if (id !== undefined) special.add(id);
  }
  const idOf = (v: unknown): number | undefined => {
    const content = tokenContent(v);
    return content === undefined ? undefined : hf.token_to_id(content);
  };

  // What the post-processor wraps around a text: BOS / EOS when encoding with special tokens.
  const marker = "\u0000";
  const wrapped = engine.post_processor ? engine.post_processor([marker], null, true).tokens : [marker];
  const at = wrapped.indexOf(marker);
  const toId = (t: string) => hf.token_to_id(t);
  const prefix = wrapped.slice(0, Math.max(at, 0)).map(toId);
  const suffix = at >= 0 ? wrapped.slice(at + 1).map(toId) : [];

  const bosTokenId = idOf(config.bos_token) ?? prefix[0];
  const generationEos = generation.eos_token_id;
  const eosTokenIds = uniqueIds([
    idOf(config.eos_token),
    ...(Array.isArray(generationEos) ? generationEos : [generationEos]).map((v) => (Number.isInteger(v) && v >= 0 && v < vocabSize ? v as number : undefined)),
    // end-of-turn markers the config does not name (<|eot_id|>, <|im_end|>, ...): special added tokens only, a
    // plain vocabulary entry spelled "</s>" is text
    ...addedTokens.filter((t) => special.has(t.id) && END_OF_GENERATION_TEXTS.has(t.content)).map((t) => t.id),
  ]);

  // Encoding where some special-token texts must stay text: split out the added tokens that may match, then run
  // the engine's own normalizer → pre-tokenizer → model → post-processor on the rest. Only used when such a text
  // occurs; everything else goes through the engine's encode unchanged.
  const specialContents = addedTokens.filter((t) => special.has(t.id)).map((t) => t.content);
  const addedByContent = new Map(addedTokens.map((t) => [t.content, t]));
  const addedPattern = anyOf([...addedByContent.keys()]);
  const unk = engine.model.unk_token === undefined || engine.model.unk_token === null ? undefined : hf.token_to_id(engine.model.unk_token);
  const encodeSections = (text: string, addSpecial: boolean, allowed: (start: number, end: number) => boolean): number[] => {
    const tokens: string[] = [];
    const sections = findAdded(text, addedPattern, addedByContent, (t, a, b) => !special.has(t.id) || allowed(a, b));
    sections.forEach((section, sectionIndex) => {
      if (typeof section !== "string") { tokens.push(section.content); return; }
      const normalized = engine.normalizer ? engine.normalizer(section) : section;
      if (normalized.length === 0) return;
      const words = engine.pre_tokenizer ? engine.pre_tokenizer(normalized, { section_index: sectionIndex }) : [normalized];
      tokens.push(...engine.model(words));
    });
    const final = engine.post_processor ? engine.post_processor(tokens, null, addSpecial).tokens : tokens;
    return final.map((t) => addedByContent.get(t)?.id ?? hf.token_to_id(t) ?? unk ?? -1);
  };
  /** Whether a special-token text occurs where it must stay text. */
  const blockedSpecial = (text: string, allowed: (start: number, end: number) => boolean): boolean =>
    specialContents.some((c) => {
      for (let at = text.indexOf(c); at >= 0; at = text.indexOf(c, at + 1)) if (!allowed(at, at + c.length)) return true;
      return false;
    });
  const nowhere = () => false;

  return {
    description: `hf ${model.type ?? "model"}${rules.byteLevel ? " (byte-level)" : rules.byteFallback ? " (SentencePiece-style, byte fallback)" : ""}`,
    vocabSize,
    encode(text, addSpecialTokens, parse) {
      const allowed = parse === false ? nowhere : parse;
      if (allowed !== true && blockedSpecial(text, allowed)) return encodeSections(text, addSpecialTokens, allowed);
      return hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    },
    specialTexts: specialContents,
    tokenText: (id) => engine.model.vocab[id],
    tokenId: (text) => hf.token_to_id(text),
    pieceBytes(id) {
      const text = engine.model.vocab[id];
      return text === undefined ? new Uint8Array(0) : pieceBytes(text, addedIds.has(id), rules);
    },
    isSpecial: (id) => special.has(id),
    stripLeadingSpaces: rules.stripLeading,
    bosTokenId,
    eosTokenIds,
    unkTokenId: unk,
    addBosToken: prefix.length > 0,
    addEosToken: suffix.length > 0,
    chatTemplate: chatTemplateOf(config),
  };
}

/**
 * A tokenizer.json for a GPT-2 style byte-level BPE given as vocab.json (token → id) and merges.txt
 * ("#version" line, then "left right" per line), the files older HF model directories ship instead.
 */
export function byteLevelBpeTokenizerJson(vocab: Record<string, number>, mergesText: string, addedTokens: { content: string; id: number; special?: boolean }[] = []): Json {
  const merges = mergesText.split("\n").filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith("#version")));
  return {
    version: "1.0",
    added_tokens: addedTokens.map((t) => ({ id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.special ?? true })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}
