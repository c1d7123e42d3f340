// SentencePiece BPE as llama.cpp runs it on GGUF "llama" vocabularies (llm_tokenizer_spm_session): start from the
// characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary entry with the highest
// score (leftmost on ties), and write characters that never became a token as byte tokens <0xXX>.
import { DbllmError } from "../errors.ts";
import { Heap } from "./heap.ts";
import { WordCache } from "./word-cache.ts";

const SPACE_MARK = "\u2581"; // ▁, SentencePiece's visible space
const utf8 = new TextEncoder();

interface Bigram { left: number; right: number; score: number; size: number }

const before = (a: Bigram, b: Bigram): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);

/**
 * True when no vocabulary entry has a ▁ right after another character. Then no merge can cross the start of a
 * "▁word", and text can be cut there into words that are tokenized (and cached) independently with the same result.
 */
export function canSplitAtSpaceMarks(tokens: Iterable<string>): boolean {
  for (const t of tokens) if (t.indexOf(SPACE_MARK, 1) > 0 && /[^\u2581]\u2581/.test(t)) return false;
  return true;
}

/** Cuts text before every ▁ that follows a character other than ▁ ("▁a▁▁b" → "▁a", "▁▁b"). */
export function splitAtSpaceMarks(text: string): string[] {
  return text.split(/(?<=[^\u2581])(?=\u2581)/u);
}

export class SpmModel {
  private readonly cache = new WordCache<number[]>();
  private readonly byteIds: Int32Array;

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    private readonly scores: Float32Array,
    /** Whether words may be tokenized separately (see canSplitAtSpaceMarks). */
    private readonly splitWords: boolean,
    private readonly unkId: number | undefined,
    private readonly where: string,
  ) {
    // llama.cpp's byte_to_token: "<0xXX>", else the byte as a one-character token.
    this.byteIds = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, "0");
      const id = tokenToId.get(`<0x${hex}>`) ?? (b < 0x80 ? tokenToId.get(String.fromCharCode(b)) : undefined);
      if (id !== undefined) this.byteIds[b] = id;
    }
  }

  /** Tokenizes text whose spaces are already written as ▁ (and with llama.cpp's space prefix, if any). */
  encode(text: string, out: number[]): void {
    if (!this.splitWords) { this.encodeWord(text, out); return; }
    for (const word of splitAtSpaceMarks(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = [];
        this.encodeWord(word, ids);
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(text: string, out: number[]): void {
    if (text.length === 0) return;
    // symbols: one per code point; start/len in UTF-16 units, linked list through prev/next
    const start: number[] = [], len: number[] = [], prev: number[] = [], next: number[] = [];
    for (let i = 0; i < text.length;) {
      const n = text.codePointAt(i)! > 0xffff ? 2 : 1;
      const k = start.length;
      start.push(i); len.push(n); prev.push(k - 1);
      i += n;
      next.push(i === text.length ? -1 : k + 1);
    }

    const queue = new Heap<Bigram>(before);
    const tryAdd = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      const size = len[left] + len[right];
      const id = this.tokenToId.get(text.substr(start[left], size));
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores[id], size });
    };
    for (let i = 1; i < start.length; i++) tryAdd(i - 1, i);

    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const { left, right } = b;
      // skip pairs whose symbols changed since the pair was queued
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== b.size) continue;
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }

    for (let i = 0; i !== -1; i = next[i]) {
      const piece = text.substr(start[i], len[i]);
      const id = this.tokenToId.get(piece);
      if (id !== undefined) { out.push(id); continue; }
      // a character that is no token: its UTF-8 bytes as byte tokens
      for (const byte of utf8.encode(piece)) {
        const bid = this.byteIds[byte];
        if (bid >= 0) out.push(bid);
        else if (this.unkId !== undefined) out.push(this.unkId);
        else throw new DbllmError("TOKENIZER", `${this.where}: no token for byte 0x${byte.toString(16)} and no <unk> token`);
      }
    }
  }
}
