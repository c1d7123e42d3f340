// GGUF vocabulary (tokenizer.ggml.*) → TokenizerBackend, tokenizing exactly like llama.cpp (llama-vocab.cpp):
// "llama" = SentencePiece BPE over scores with byte fallback, "gpt2" = byte-level BPE over merges with the
// pre-tokenizer named by tokenizer.ggml.pre. Special tokens in text are found llama.cpp's way (longest first).
import { DbllmError } from "../errors.ts";
import type { GGUFMeta, GGUFValue } from "../formats/gguf.ts";
import { BpeModel, mergeRanks } from "./bpe.ts";
import { byteLevelDecode } from "./byte-level.ts";
import { CONTROL_LOOKING_TEXTS, END_OF_GENERATION_TEXTS, FIM_END_TEXTS, uniqueIds } from "./end-of-generation.ts";
import { preTokenizerFor, type PreTokenizerSpec } from "./pretokenize.ts";
import { sortSpecials, splitSpecial, type SpecialToken } from "./special-split.ts";
import { canSplitAtSpaceMarks, SpmModel } from "./spm.ts";
import type { TokenizerBackend } from "./types.ts";

/** tokenizer.ggml.token_type values (llama.h LLAMA_TOKEN_TYPE_*). */
export const TokenType = { Undefined: 0, Normal: 1, Unknown: 2, Control: 3, UserDefined: 4, Unused: 5, Byte: 6 } as const;

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Reads tokenizer metadata with TOKENIZER errors (a broken vocabulary, not a broken file). */
class VocabReader {
  constructor(private readonly meta: GGUFMeta) {}
  private fail(key: string, what: string): never {
    throw new DbllmError("TOKENIZER", `${this.meta.name}: ${key} ${what}`);
  }
  private get(key: string): GGUFValue | undefined { return this.meta.map.get(key); }
  str(key: string): string | undefined {
    const v = this.get(key);
    if (v !== undefined && typeof v !== "string") this.fail(key, "is not a string");
    return v as string | undefined;
  }
  bool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v !== undefined && typeof v !== "boolean") this.fail(key, "is not a bool");
    return v as boolean | undefined;
  }
  /** A token id: an integer inside the vocabulary. */
  id(key: string, vocabSize: number): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(key, "is not an integer");
    if (v < 0 || v >= vocabSize) this.fail(key, `= ${v} is outside the vocabulary (${vocabSize} tokens)`);
    return v;
  }
  strings(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) this.fail(key, "is not a list of strings");
    return v as string[];
  }
  numbers(key: string, n: number): Float32Array | Int32Array | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!(v instanceof Float32Array) && !(v instanceof Int32Array)) this.fail(key, "is not an array of float32 / int32");
    if (v.length !== n) this.fail(key, `has ${v.length} entries for ${n} tokens`);
    return v;
  }
}

export function ggufBackend(meta: GGUFMeta): TokenizerBackend {
  const r = new VocabReader(meta);
  const where = meta.name;
  const v = readVocabulary(r, where);
  const { spm, texts, types } = v, n = texts.length;
  const ids = specialIds(r, v);
  const pre = spm ? undefined : preTokenizerFor(r.str("tokenizer.ggml.pre"), where);
  const addBosToken = r.bool("tokenizer.ggml.add_bos_token") ?? (spm ? true : pre!.addBos);
  const addEosToken = r.bool("tokenizer.ggml.add_eos_token") ?? false;
  const addSpacePrefix = r.bool("tokenizer.ggml.add_space_prefix") ?? spm;
  const specialsParsed = matchableSpecials(r, v, true);
  const specialsLiteral = matchableSpecials(r, v, false);
  const { encodeText, description } = spm ? spmEncoder(v, ids.unkTokenId, where) : bpeEncoder(r, v, pre!, where);
  return {
    description,
    vocabSize: n,
    encode(text, addSpecialTokens, special) {
      const out: number[] = [];
      if (addSpecialTokens && addBosToken && ids.bosTokenId !== undefined) out.push(ids.bosTokenId);
      if (text.length > 0) {
        let afterSpecial = true; // SentencePiece: a space prefix at the start and after each special token
        const allowed = typeof special === "function" ? (sp: SpecialToken, a: number, b: number) => types[sp.id] === TokenType.UserDefined || special(a, b) : undefined;
        for (const f of splitSpecial(text, special === false ? specialsLiteral : specialsParsed, allowed)) {
          if (typeof f === "number") { out.push(f); afterSpecial = true; continue; }
          encodeText(spm && addSpacePrefix && afterSpecial ? ` ${f}` : f, out);
          afterSpecial = false;
        }
      }
      if (addSpecialTokens && addEosToken && ids.eosTokenId !== undefined) out.push(ids.eosTokenId);
      return out;
    },
    tokenText: (id) => (id >= 0 && id < n ? texts[id] : undefined),
    tokenId: (text) => v.tokenToId.get(text),
    pieceBytes: (id) => pieceBytes(v, id),
    isSpecial: (id) => types[id] === TokenType.Control || types[id] === TokenType.Unknown,
    specialTexts: specialsParsed.filter((sp) => types[sp.id] !== TokenType.UserDefined).map((sp) => sp.text),
    stripLeadingSpaces: spm && addSpacePrefix ? 1 : 0,
    bosTokenId: ids.bosTokenId,
    eosTokenIds: ids.eosTokenIds,
    unkTokenId: ids.unkTokenId,
    addBosToken,
    addEosToken,
    chatTemplate: r.str("tokenizer.chat_template"),
  };
}

/** The token list, scores and types of a GGUF vocabulary ("llama" = SentencePiece, "gpt2" = byte-level BPE). */
interface Vocabulary {
  spm: boolean;
  texts: string[];
  tokenToId: Map<string, number>;
  scores: Float32Array;
  types: Uint8Array;
}

function readVocabulary(r: VocabReader, where: string): Vocabulary {
  const model = r.str("tokenizer.ggml.model");
  if (model === undefined) throw new DbllmError("TOKENIZER", `${where} has no tokenizer (tokenizer.ggml.model is missing)`);
  if (model !== "llama" && model !== "gpt2") {
    throw new DbllmError("TOKENIZER", `${where}: tokenizer model "${model}" is not supported (llama = SentencePiece, gpt2 = byte-level BPE are)`);
  }
  const tokens = r.strings("tokenizer.ggml.tokens");
  if (tokens === undefined || tokens.length === 0) throw new DbllmError("TOKENIZER", `${where}: tokenizer.ggml.tokens is missing or empty`);
  const n = tokens.length;
  const texts = tokens.map((t, i) => (t.length > 0 ? t : `[EMPTY_${i}]`)); // as llama.cpp names empty entries
  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (tokenToId.has(texts[i])) {
      throw new DbllmError("TOKENIZER", `${where}: token ${JSON.stringify(texts[i])} appears twice (ids ${tokenToId.get(texts[i])} and ${i})`);
    }
    tokenToId.set(texts[i], i);
  }
  const rawScores = r.numbers("tokenizer.ggml.scores", n);
  const scores = rawScores instanceof Float32Array ? rawScores : Float32Array.from(rawScores ?? new Float32Array(n));
  const typesIn = r.numbers("tokenizer.ggml.token_type", n);
  if (typesIn instanceof Float32Array) throw new DbllmError("TOKENIZER", `${where}: tokenizer.ggml.token_type is not int32`);
  const types = Uint8Array.from(typesIn ?? new Int32Array(n).fill(TokenType.Normal), (t, i) => {
    if (t < 0 || t > 6) throw new DbllmError("TOKENIZER", `${where}: token ${i} has unknown type ${t}`);
    return t;
  });
  for (let i = 0; i < n; i++) if (CONTROL_LOOKING_TEXTS.has(texts[i])) types[i] = TokenType.Control;
  return { spm: model === "llama", texts, tokenToId, scores, types };
}

/** Special ids: llama.cpp's defaults for "llama" vocabularies, then the file's own. */
function specialIds(r: VocabReader, { spm, texts }: Vocabulary) {
  const n = texts.length;
  const eosTokenId = r.id("tokenizer.ggml.eos_token_id", n) ?? (spm && n > 2 ? 2 : undefined);
  const eotTokenId = r.id("tokenizer.ggml.eot_token_id", n);
  const eomTokenId = r.id("tokenizer.ggml.eom_token_id", n);
  return {
    bosTokenId: r.id("tokenizer.ggml.bos_token_id", n) ?? (spm && n > 1 ? 1 : undefined),
    eosTokenId,
    unkTokenId: r.id("tokenizer.ggml.unknown_token_id", n) ?? (spm ? 0 : undefined),
    eosTokenIds: uniqueIds([eosTokenId, eotTokenId, eomTokenId,
      ...texts.flatMap((t, i) => (END_OF_GENERATION_TEXTS.has(t) || FIM_END_TEXTS.has(t) ? [i] : []))]),
  };
}

/**
 * Special tokens matched in text: control and unknown (when special tokens are parsed) and user-defined (always).
 * Phi-3 files get llama.cpp's per-model rule: control tokens swallow the whitespace after them.
 */
function matchableSpecials(r: VocabReader, { texts, types }: Vocabulary, parse: boolean): SpecialToken[] {
  const name = (r.str("general.name") ?? "").toLowerCase();
  const phi3 = name.includes("phi-3") || name.includes("phi3");
  const list: SpecialToken[] = [];
  for (let i = 0; i < texts.length; i++) {
    const t = types[i];
    if (t === TokenType.UserDefined || (parse && (t === TokenType.Control || t === TokenType.Unknown))) {
      const rstrip = phi3 && t !== TokenType.Unknown && !["<unk>", "<s>", "<|endoftext|>"].includes(texts[i]);
      list.push({ text: texts[i], id: i, rstrip });
    }
  }
  return sortSpecials(list);
}

type TextEncoding = { encodeText: (text: string, out: number[]) => void; description: string };

function spmEncoder({ texts, tokenToId, scores }: Vocabulary, unkTokenId: number | undefined, where: string): TextEncoding {
  const model = new SpmModel(tokenToId, scores, canSplitAtSpaceMarks(texts), unkTokenId, where);
  return { encodeText: (text, out) => model.encode(text.replaceAll(" ", "\u2581"), out), description: "gguf llama (SentencePiece)" };
}

function bpeEncoder(r: VocabReader, { tokenToId }: Vocabulary, pre: PreTokenizerSpec, where: string): TextEncoding {
  const merges = r.strings("tokenizer.ggml.merges");
  if (merges === undefined) throw new DbllmError("TOKENIZER", `${where}: tokenizer.ggml.merges is missing (needed by gpt2 vocabularies)`);
  const model = new BpeModel(tokenToId, mergeRanks(merges, tokenToId, where), pre);
  return { encodeText: (text, out) => model.encode(text, out), description: `gguf gpt2 (${r.str("tokenizer.ggml.pre") ?? "default"})` };
}

/** The bytes a token adds to decoded text, by its type (llama.cpp's token_to_piece). */
function pieceBytes({ spm, texts, types }: Vocabulary, id: number): Uint8Array {
  const text = texts[id];
  switch (types[id]) {
    case TokenType.Normal: return spm ? utf8.encode(text.replaceAll("\u2581", " ")) : byteLevelDecode(text);
    case TokenType.Byte: {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      return m ? Uint8Array.of(parseInt(m[1], 16)) : byteLevelDecode(text);
    }
    case TokenType.Control: case TokenType.Unknown: case TokenType.UserDefined: return utf8.encode(text);
    default: return EMPTY; // unused / undefined tokens print nothing in llama.cpp
  }
}
