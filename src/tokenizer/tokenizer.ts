// The one Tokenizer the runtime uses, whatever the model came from: HF tokenizer.json or a GGUF vocabulary.
// Encoding is the source's own algorithm (see hf.ts, gguf-vocab.ts); decoding, streaming and chat templates are
// shared: every token contributes a fixed byte string, text is the UTF-8 decoding of their concatenation.
import { DbllmError, invalidArgument } from "../errors.ts";
import { GGUFMeta, type GGUFValue } from "../formats/gguf.ts";
import { isRecord } from "../json.ts";
import { renderChatTemplate, type ChatMessage, type ChatTemplateOptions } from "./chat-template.ts";
import { ggufBackend } from "./gguf-vocab.ts";
import { hfBackend } from "./hf.ts";
import { LiteralGuard, outsideRanges } from "./literal-guard.ts";
import { createStreamDecoder, decodeAll, type PieceSource, type StreamDecoder } from "./stream-decoder.ts";
import { checkTokenId, isTokenId } from "./token-ids.ts";
import type { TokenizerBackend } from "./types.ts";

// String.prototype.isWellFormed is in Node 20 but not in the ES2022 typings this project compiles against.
const isWellFormed = (text: string): boolean =>
  (text as string & { isWellFormed(): boolean }).isWellFormed?.() ?? !/\p{Surrogate}/u.test(text);

export interface EncodeOptions {
  /** Add the model's BOS/EOS (or other post-processing) tokens. Default true. */
  addSpecialTokens?: boolean;
  /**
   * Recognise special tokens written in the text ("<|im_start|>" → one control token), as HF tokenizers and
   * llama.cpp's parse_special do. Default false: text is text, so that no user-supplied string can inject a
   * control token; pass true for text you formatted yourself with the model's markers. Non-special added
   * tokens (user-defined) are always recognised.
   */
  parseSpecialTokens?: boolean;
}

export interface ChatEncodeOptions extends Omit<ChatTemplateOptions, "bosToken" | "eosToken"> {
  /**
   * Let special-token texts inside the messages (and template variables) become control tokens. Default false:
   * only the markers the template itself writes are control tokens; "<|im_end|>" in a message is text.
   */
  parseSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out control tokens (BOS, EOS, <|im_start|>, ...). Default false. */
  skipSpecialTokens?: boolean;
}

/** Where a tokenizer came from, in a form that can be stored (inside .dbllm files) and rebuilt exactly. */
export type TokenizerSource =
  | { kind: "hf"; tokenizerJson: object; tokenizerConfig?: object; generationConfig?: object }
  | { kind: "gguf"; metadata: Map<string, GGUFValue> };

export class Tokenizer {
  /** Decoded bytes per token id, filled on first use (building all 150k up front would slow loading). */
  private readonly pieces: (Uint8Array | undefined)[];
  private readonly pieceSource: PieceSource;
  private literalGuard: LiteralGuard | undefined;
  private readonly checkId = (id: number): void => checkTokenId(id, this.vocabSize);

  private constructor(private readonly backend: TokenizerBackend, private readonly source: TokenizerSource) {
    this.pieces = new Array(backend.vocabSize);
    this.pieceSource = {
      pieceBytes: (id: number): Uint8Array => this.pieces[id] ??= backend.pieceBytes(id),
      isSpecial: (id: number): boolean => backend.isSpecial(id),
      stripLeadingSpaces: backend.stripLeadingSpaces,
    };
  }

  /**
   * From HF files: tokenizer.json (parsed), tokenizer_config.json (BOS/EOS, chat template) and
   * generation_config.json (extra end-of-generation ids), the last two optional.
   */
  static fromHF(tokenizerJson: object, tokenizerConfig?: object, generationConfig?: object): Tokenizer {
    return new Tokenizer(hfBackend(tokenizerJson, tokenizerConfig, generationConfig), { kind: "hf", tokenizerJson, tokenizerConfig, generationConfig });
  }

  /** From a GGUF file's metadata (tokenizer.ggml.*), tokenized exactly like llama.cpp. */
  static fromGGUF(meta: GGUFMeta): Tokenizer {
    const metadata = new Map([...meta.map].filter(([k]) => k.startsWith("tokenizer.")));
    return new Tokenizer(ggufBackend(meta), { kind: "gguf", metadata });
  }

  /** A JSON string that `Tokenizer.deserialize` turns back into an identical tokenizer. */
  serialize(): string {
    if (this.source.kind === "hf") return JSON.stringify(this.source);
    const metadata: Record<string, { t: string; v: unknown }> = {};
    for (const [k, v] of this.source.metadata) {
      const t = v instanceof Float32Array ? "f32" : v instanceof Int32Array ? "i32" : v instanceof Uint32Array ? "u32" : typeof v === "bigint" ? "big" : "json";
      metadata[k] = { t, v: t === "big" ? String(v) : ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v };
    }
    return JSON.stringify({ kind: "gguf", metadata });
  }

  static deserialize(json: string, where = "tokenizer"): Tokenizer {
    let d: unknown;
    try { d = JSON.parse(json); } catch (e) { throw new DbllmError("TOKENIZER", `${where} is not valid JSON: ${(e as Error).message}`); }
    if (isRecord(d) && d.kind === "hf" && isRecord(d.tokenizerJson)) {
      return Tokenizer.fromHF(d.tokenizerJson, d.tokenizerConfig as object | undefined, d.generationConfig as object | undefined);
    }
    if (isRecord(d) && d.kind === "gguf" && isRecord(d.metadata)) {
      const map = new Map<string, GGUFValue>();
      for (const [k, entry] of Object.entries(d.metadata)) map.set(k, storedValue(entry, `${where}: ${k}`));
      return Tokenizer.fromGGUF(new GGUFMeta(map, where));
    }
    throw new DbllmError("TOKENIZER", `${where} does not describe a tokenizer`);
  }

  /** What kind of vocabulary this is, for logs and errors. */
  get description(): string { return this.backend.description; }
  /** Number of token ids (the embedding matrix may have more rows: padding). */
  get vocabSize(): number { return this.backend.vocabSize; }
  get bosTokenId(): number | undefined { return this.backend.bosTokenId; }
  /** Every id that ends generation: EOS, end-of-turn / end-of-message tokens, generation_config's eos ids. */
  get eosTokenIds(): number[] { return [...this.backend.eosTokenIds]; }
  get unkTokenId(): number | undefined { return this.backend.unkTokenId; }
  /** Whether encode() with addSpecialTokens puts BOS first. */
  get addBosToken(): boolean { return this.backend.addBosToken; }
  get addEosToken(): boolean { return this.backend.addEosToken; }
  get chatTemplate(): string | undefined { return this.backend.chatTemplate; }
  /** Text of the BOS token ("<s>", "<|begin_of_text|>"), for chat templates. */
  get bosToken(): string | undefined { return this.tokenString(this.backend.bosTokenId); }
  /** Text of the primary EOS token, for chat templates. */
  get eosToken(): string | undefined { return this.tokenString(this.backend.eosTokenIds[0]); }

  encode(text: string, options?: EncodeOptions): number[] {
    if (typeof text !== "string") throw invalidArgument(`encode() expects a string, got ${typeof text}`);
    if (!isWellFormed(text)) {
      throw new DbllmError("INVALID_TEXT", "text contains a lone UTF-16 surrogate (not well-formed Unicode); fix it with text.toWellFormed()");
    }
    return this.checked(this.backend.encode(text, options?.addSpecialTokens ?? true, options?.parseSpecialTokens ?? false));
  }

  /**
   * The token ids of a conversation in the model's chat template, ready to generate the next turn (the template
   * writes BOS where the model wants it). Special-token texts inside the messages stay text unless
   * `parseSpecialTokens` is set; see LiteralGuard.
   */
  encodeChat(messages: readonly ChatMessage[], options: ChatEncodeOptions = {}): number[] {
    const { parseSpecialTokens, ...render } = options;
    if (parseSpecialTokens) return this.encode(this.applyChatTemplate(messages, render), { addSpecialTokens: false, parseSpecialTokens: true });
    const guard = this.literalGuard ??= new LiteralGuard(this.backend.specialTexts);
    const rendered = this.applyChatTemplate(guard.escape(messages), { ...render, extra: guard.escape(render.extra) });
    const { text, literals } = guard.restore(rendered);
    if (!isWellFormed(text)) throw new DbllmError("INVALID_TEXT", "a message contains a lone UTF-16 surrogate (not well-formed Unicode)");
    return this.checked(this.backend.encode(text, false, literals.length ? (start, end) => outsideRanges(literals, start, end) : true));
  }

  /** Ids the backend produced, checked: a damaged vocabulary must not hand undefined or -1 to the model. */
  private checked(ids: number[]): number[] {
    for (const id of ids) {
      if (!isTokenId(id, this.vocabSize)) {
        throw new DbllmError("TOKENIZER", `the tokenizer (${this.description}) produced token id ${id}, outside its vocabulary of ${this.vocabSize}; its files are inconsistent`);
      }
    }
    return ids;
  }

  decode(ids: readonly number[], options?: DecodeOptions): string {
    if (!Array.isArray(ids)) throw invalidArgument("decode() expects an array of token ids");
    return decodeAll(this.pieceSource, ids, options?.skipSpecialTokens ?? false, this.checkId);
  }

  /** Incremental decode for streaming: concatenating every push() and flush() gives decode(allIds, options). */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder {
    return createStreamDecoder(this.pieceSource, options?.skipSpecialTokens ?? false, this.checkId);
  }

  /** The vocabulary entry of `id` as stored ("▁the", "Ġthe", "<|im_end|>"), or undefined. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) ? this.backend.tokenText(id) : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.backend.tokenId(token);
  }

  /** Control tokens (BOS, EOS, chat markers); skipped by decode({ skipSpecialTokens: true }). */
  isSpecial(id: number): boolean {
    return isTokenId(id, this.vocabSize) && this.backend.isSpecial(id);
  }

  /** Renders the model's chat template (see renderChatTemplate) with this model's BOS/EOS strings. */
  applyChatTemplate(messages: readonly ChatMessage[], options: Omit<ChatTemplateOptions, "bosToken" | "eosToken"> = {}): string {
    if (this.chatTemplate === undefined) {
      throw new DbllmError("CHAT_TEMPLATE", `this model (${this.description}) has no chat template; pass one explicitly`);
    }
    return renderChatTemplate(this.chatTemplate, messages, { ...options, bosToken: this.bosToken, eosToken: this.eosToken });
  }

  private tokenString(id: number | undefined): string | undefined {
    return id === undefined ? undefined : this.backend.tokenText(id);
  }
}

const TYPED_ARRAYS = { f32: Float32Array, i32: Int32Array, u32: Uint32Array } as const;

/** A GGUF metadata value as serialize() stores it ({ t, v }), checked: a damaged file gives TOKENIZER errors. */
function storedValue(entry: unknown, where: string): GGUFValue {
  const bad = (why: string): never => { throw new DbllmError("TOKENIZER", `${where} ${why}`); };
  if (!isRecord(entry) || typeof entry.t !== "string") return bad("is not a { t, v } entry");
  const { t, v } = entry as { t: string; v: unknown };
  if (Object.hasOwn(TYPED_ARRAYS, t)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x))) return bad("is not an array of finite numbers");
    const out = TYPED_ARRAYS[t as keyof typeof TYPED_ARRAYS].from(v as number[]);
    if (t !== "f32" && !out.every((x, i) => x === v[i])) return bad(`holds values that are not ${t} integers`);
    return out;
  }
  if (t === "big") {
    if (typeof v !== "string" || !/^-?\d{1,20}$/.test(v)) return bad(`is not a 64-bit integer`);
    return BigInt(v);
  }
  if (t !== "json") return bad(`has unknown type ${JSON.stringify(t)}`);
  const scalar = (x: unknown) => typeof x === "string" || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x));
  if (scalar(v)) return v as string | boolean | number;
  if (Array.isArray(v) && (v.every((x) => typeof x === "string") || v.every((x) => typeof x === "boolean") || v.every((x) => typeof x === "number" && Number.isFinite(x)))) {
    return v as string[];
  }
  return bad(`is ${v === null ? "null" : "not a string, number, bool or array of one of them"}`);
}
