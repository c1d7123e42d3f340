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

/** `specials` must be sorted longest first (see sortSpecials). */
export function splitSpecial(text: string, specials: readonly SpecialToken[]): Fragment[] {
  let fragments: Fragment[] = [text];
  for (const sp of specials) {
    if (sp.text.length === 0 || !text.includes(sp.text)) continue; // cheap filter: most texts contain no special token at all
    const next: Fragment[] = [];
    for (const f of fragments) {
      if (typeof f === "number") { next.push(f); continue; }
      let from = 0;
      for (let at = f.indexOf(sp.text); at >= 0; at = f.indexOf(sp.text, from)) {
        let leftEnd = at;
        if (sp.lstrip) while (leftEnd > from && isSpace(f.charCodeAt(leftEnd - 1))) leftEnd--;
        if (leftEnd > from) next.push(f.slice(from, leftEnd));
        next.push(sp.id);
        from = at + sp.text.length;
        if (sp.rstrip) while (from < f.length && isSpace(f.charCodeAt(from))) from++;
      }
      if (from < f.length) next.push(from === 0 ? f : f.slice(from));
    }
    fragments = next;
  }
  return fragments;
}

const utf8 = new TextEncoder();

/** Longest (in UTF-8 bytes) first; ties keep id order (llama.cpp's std::sort leaves them unspecified). */
export function sortSpecials(specials: SpecialToken[]): SpecialToken[] {
  const bytes = new Map(specials.map((s) => [s, utf8.encode(s.text).length]));
  return specials.sort((a, b) => bytes.get(b)! - bytes.get(a)! || a.id - b.id);
}
