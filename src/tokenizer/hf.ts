// HF tokenizer.json → TokenizerBackend. Encoding runs on @huggingface/tokenizers through hf-engine.ts, which
// documents the corrections dbllm applies to it (speed, the GPT-2 regex, special-token texts kept as text,
// validation). Malformed files are rejected up front. Decoding is ours (tokenizer.ts): a byte string per token
// derived from the `decoder` section.
import type { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { DbllmError } from "../errors.ts";
import { isRecord as isObject } from "../json.ts";
import { byteLevelDecode } from "./byte-level.ts";
import { END_OF_GENERATION_TEXTS, uniqueIds } from "./end-of-generation.ts";
import { bad, encodeSections, MAX_VOCAB, openEngine, type AddedToken, type EngineInternals } from "./hf-engine.ts";
import { anyOf } from "./special-split.ts";
import type { TokenizerBackend } from "./types.ts";

type Json = Record<string, unknown>;

const utf8 = new TextEncoder();

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

export function hfBackend(tokenizerJson: unknown, tokenizerConfig?: unknown, generationConfig?: unknown): TokenizerBackend {
  if (!isObject(tokenizerJson)) throw bad("must be a JSON object (parse the file first)");
  if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isObject(tokenizerConfig)) {
    throw new DbllmError("TOKENIZER", "tokenizer_config.json must be a JSON object");
  }
  if (generationConfig !== undefined && generationConfig !== null && !isObject(generationConfig)) {
    throw new DbllmError("INVALID_CONFIG", "generation_config.json must be a JSON object");
  }
  const config: Json = tokenizerConfig ?? {};
  const addedTokens = validate(tokenizerJson);
  const rules = readDecoder(tokenizerJson.decoder);
  const { hf, engine } = openEngine(tokenizerJson, addedTokens, config, rules.byteLevel);
  const model = tokenizerJson.model as Json;
  const vocabSize = engine.model.vocab.length;
  const addedIds = new Set(addedTokens.map((t) => t.id));
  const special = specialIds(hf, addedTokens, config);
  const ends = boundaryTokens(hf, engine, config, generationConfig ?? {}, addedTokens, special);
  const encode = encoder(hf, engine, addedTokens, special);
  return {
    description: `hf ${model.type ?? "model"}${rules.byteLevel ? " (byte-level)" : rules.byteFallback ? " (SentencePiece-style, byte fallback)" : ""}`,
    vocabSize,
    encode: encode.encode,
    specialTexts: encode.specialTexts,
    tokenText: (id) => engine.model.vocab[id],
    tokenId: (text) => hf.token_to_id(text),
    pieceBytes(id) {
      const text = engine.model.vocab[id];
      return text === undefined ? new Uint8Array(0) : pieceBytes(text, addedIds.has(id), rules);
    },
    isSpecial: (id) => special.has(id),
    stripLeadingSpaces: rules.stripLeading,
    ...ends,
    unkTokenId: encode.unk,
    chatTemplate: chatTemplateOf(config),
  };
}

const idOf = (hf: HFTokenizer, v: unknown): number | undefined => {
  const content = tokenContent(v);
  return content === undefined ? undefined : hf.token_to_id(content);
};

/** Control tokens: the added tokens marked special, and the config's additional special tokens. */
function specialIds(hf: HFTokenizer, addedTokens: AddedToken[], config: Json): Set<number> {
  const special = new Set(addedTokens.filter((t) => t.special).map((t) => t.id));
  for (const extra of Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens : []) {
    const id = idOf(hf, extra);
    if (id !== undefined) special.add(id);
  }
  return special;
}

/** BOS and EOS: named by the configs, or what the post-processor wraps around a text when adding special tokens. */
function boundaryTokens(hf: HFTokenizer, engine: EngineInternals, config: Json, generation: Json, addedTokens: AddedToken[], special: Set<number>) {
  const marker = "\u0000";
  const wrapped = engine.post_processor ? engine.post_processor([marker], null, true).tokens : [marker];
  const at = wrapped.indexOf(marker);
  const toId = (t: string) => hf.token_to_id(t);
  const prefix = wrapped.slice(0, Math.max(at, 0)).map(toId);
  const suffix = at >= 0 ? wrapped.slice(at + 1).map(toId) : [];
  const vocabSize = engine.model.vocab.length;
  const generationEos = generation.eos_token_id;
  const eosTokenIds = uniqueIds([
    idOf(hf, config.eos_token),
    ...(Array.isArray(generationEos) ? generationEos : [generationEos]).map((v) => (Number.isInteger(v) && v >= 0 && v < vocabSize ? v as number : undefined)),
    // end-of-turn markers the config does not name (<|eot_id|>, <|im_end|>, ...): special added tokens only, a
    // plain vocabulary entry spelled "</s>" is text
    ...addedTokens.filter((t) => special.has(t.id) && END_OF_GENERATION_TEXTS.has(t.content)).map((t) => t.id),
  ]);
  return { bosTokenId: idOf(hf, config.bos_token) ?? prefix[0], eosTokenIds, addBosToken: prefix.length > 0, addEosToken: suffix.length > 0 };
}

/**
 * Encoding: the engine's own encode, unless some special-token text occurs where it must stay text — then the
 * added tokens that may match are split out and the rest runs through the engine's pipeline (hf-engine.ts).
 */
function encoder(hf: HFTokenizer, engine: EngineInternals, addedTokens: AddedToken[], special: Set<number>) {
  const specialTexts = addedTokens.filter((t) => special.has(t.id)).map((t) => t.content);
  const addedByContent = new Map(addedTokens.map((t) => [t.content, t]));
  const addedPattern = anyOf([...addedByContent.keys()]);
  const unk = engine.model.unk_token === undefined || engine.model.unk_token === null ? undefined : hf.token_to_id(engine.model.unk_token);
  /** Whether a special-token text occurs where it must stay text. */
  const blockedSpecial = (text: string, allowed: (start: number, end: number) => boolean): boolean =>
    specialTexts.some((c) => {
      for (let at = text.indexOf(c); at >= 0; at = text.indexOf(c, at + 1)) if (!allowed(at, at + c.length)) return true;
      return false;
    });
  const nowhere = () => false;
  const encode: TokenizerBackend["encode"] = (text, addSpecialTokens, parse) => {
    const allowed = parse === false ? nowhere : parse;
    if (allowed !== true && blockedSpecial(text, allowed)) {
      return encodeSections(hf, engine, unk, text, addSpecialTokens, addedPattern, addedByContent, (t, a, b) => !special.has(t.id) || allowed(a, b));
    }
    return hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  };
  return { encode, specialTexts, unk };
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
