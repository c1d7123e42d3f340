// Finding special tokens written in text, as llama.cpp does (tokenizer_st_partition): the special tokens are
// tried longest first, each one splitting every remaining piece of plain text at all of its occurrences.
// The result is a list of plain-text pieces (strings) and token ids (numbers), in text order.

export interface SpecialToken {
  readonly text: string;
  readonly id: number;
  /** Swallow whitespace before / after the token (llama.cpp's LSTRIP / RSTRIP attributes). */
  readonly lstrip?: boolean;
  readonly rstrip?: boolean;
}

export type Fragment = string | number;

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d); // C isspace()

/**
 * Whether a special token may match at [start, end) of the text; tokens matched nowhere else (user content in a
 * rendered chat template) stay text.
 */
export type MatchFilter = (token: SpecialToken, start: number, end: number) => boolean;

/** `specials` must be sorted longest first (see sortSpecials). */
export function splitSpecial(text: string, specials: readonly SpecialToken[], allowed?: MatchFilter): Fragment[] {
  // plain-text pieces remember where they start in `text`, for `allowed`
  let fragments: (number | { s: string; at: number })[] = [{ s: text, at: 0 }];
  for (const sp of specials) {
    if (sp.text.length === 0 || !text.includes(sp.text)) continue; // cheap filter: most texts contain no special token at all
    const next: typeof fragments = [];
    for (const f of fragments) {
      if (typeof f === "number") { next.push(f); continue; }
      const piece = f.s;
      let from = 0;
      for (let at = piece.indexOf(sp.text); at >= 0; at = piece.indexOf(sp.text, at + 1)) {
        if (allowed && !allowed(sp, f.at + at, f.at + at + sp.text.length)) continue;
        let leftEnd = at;
        if (sp.lstrip) while (leftEnd > from && isSpace(piece.charCodeAt(leftEnd - 1))) leftEnd--;
        if (leftEnd > from) next.push({ s: piece.slice(from, leftEnd), at: f.at + from });
        next.push(sp.id);
        from = at + sp.text.length;
        if (sp.rstrip) while (from < piece.length && isSpace(piece.charCodeAt(from))) from++;
        at = from - 1; // search on after this token (and after what rstrip swallowed)
      }
      if (from < piece.length) next.push(from === 0 ? f : { s: piece.slice(from), at: f.at + from });
    }
    fragments = next;
  }
  return fragments.map((f) => (typeof f === "number" ? f : f.s));
}

const utf8 = new TextEncoder();

/** Longest (in UTF-8 bytes) first; ties keep id order (llama.cpp's std::sort leaves them unspecified). */
export function sortSpecials(specials: SpecialToken[]): SpecialToken[] {
  const bytes = new Map(specials.map((s) => [s, utf8.encode(s.text).length]));
  return specials.sort((a, b) => bytes.get(b)! - bytes.get(a)! || a.id - b.id);
}

/**
 * A global regex matching any of `words` literally, the longest first where several start at the same place
 * (leftmost-longest, as HF's added-token splitter); one that matches nothing when `words` is empty.
 */
export function anyOf(words: readonly string[]): RegExp {
  if (words.length === 0) return /(?!)/gu;
  const escaped = [...words].sort((a, b) => b.length - a.length).map((w) => w.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"));
  return new RegExp(escaped.join("|"), "gu");
}
