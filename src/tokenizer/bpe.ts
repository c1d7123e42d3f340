// Byte-level BPE as llama.cpp runs it on GGUF "gpt2" vocabularies (llm_tokenizer_bpe_session): split the text
// into words with the vocabulary's pre-tokenizer, write each word's UTF-8 bytes in GPT-2's byte alphabet, then
// repeatedly merge the adjacent pair with the lowest merge rank (leftmost on ties).
import { DbllmError } from "../errors.ts";
import { byteLevelEncode, missingByteError } from "./byte-level.ts";
import { Heap } from "./heap.ts";
import { compileLlamaRegex, splitWords, type PreTokenizerSpec } from "./pretokenize.ts";
import { WordCache } from "./word-cache.ts";

interface Bigram { left: number; right: number; rank: number; text: string }

const before = (a: Bigram, b: Bigram): boolean => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

/**
 * Merge ranks keyed "left right", from GGUF `tokenizer.ggml.merges` ("Ġ t" = rank 0, ...). Like llama.cpp, a
 * merge splits at its first space after the first character. Merges naming tokens outside the vocabulary are
 * rejected: they mean a damaged or mismatched file.
 */
export function mergeRanks(merges: readonly string[], tokenToId: ReadonlyMap<string, number>, where: string): Map<string, number> {
  const ranks = new Map<string, number>();
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    const sp = m.indexOf(" ", 1);
    if (sp < 0) throw new DbllmError("TOKENIZER", `${where}: merge #${i} ${JSON.stringify(m)} is not "left right"`);
    const a = m.slice(0, sp), b = m.slice(sp + 1);
    if (!tokenToId.has(a) || !tokenToId.has(b)) {
      const missing = tokenToId.has(a) ? b : a;
      throw new DbllmError("TOKENIZER", `${where}: merge #${i} ${JSON.stringify(m)} names ${JSON.stringify(missing)}, which is not in the vocabulary`);
    }
    if (!ranks.has(m)) ranks.set(m, i);
  }
  return ranks;
}

export class BpeModel {
  private readonly cache = new WordCache<number[]>();
  private readonly regexes: RegExp[];

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly pre: PreTokenizerSpec,
  ) {
    this.regexes = pre.regexes.map(compileLlamaRegex);
  }

  /** Tokenizes a piece of text that contains no special tokens. */
  encode(text: string, out: number[]): void {
    for (const word of splitWords(text, this.regexes)) {
      const encoded = byteLevelEncode(word);
      let ids = this.cache.get(encoded);
      if (ids === undefined) {
        ids = this.encodeWord(encoded);
        this.cache.set(encoded, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    const whole = this.tokenToId.get(word);
    if (whole !== undefined && (this.pre.ignoreMerges || word.length === 1)) return [whole];

    // symbols are single characters of the byte alphabet (one UTF-16 unit each)
    const n = word.length;
    const len = new Array<number>(n).fill(1);
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const sym = (i: number): string => word.substr(i, len[i]);

    const queue = new Heap<Bigram>(before);
    const tryAdd = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      const a = sym(left), b = sym(right);
      const rank = this.ranks.get(`${a} ${b}`);
      if (rank !== undefined) queue.push({ left, right, rank, text: a + b });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);

    for (let bg = queue.pop(); bg !== undefined; bg = queue.pop()) {
      const { left, right } = bg;
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== bg.text.length) continue; // stale
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }

    const ids: number[] = [];
    for (let i = 0; i !== -1; i = next[i]) {
      const piece = sym(i);
      const id = this.tokenToId.get(piece);
      if (id !== undefined) { ids.push(id); continue; }
      // Not in the vocabulary (an incomplete one): its byte characters one by one, each of which must be a token.
      for (const c of piece) {
        const cid = this.tokenToId.get(c);
        if (cid === undefined) throw missingByteError(word, (t) => this.tokenToId.has(t));
        ids.push(cid);
      }
    }
    return ids;
  }
}
