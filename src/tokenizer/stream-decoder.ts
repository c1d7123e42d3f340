// Incremental detokenization. Every token contributes a fixed byte string; text is the UTF-8 decoding of their
// concatenation, after the decoder's leading-space strip. A streaming TextDecoder holds back an incomplete
// UTF-8 sequence until its last byte arrives (a character split over byte-fallback tokens or byte-level BPE
// pieces, an emoji over several tokens), and by the WHATWG decoding algorithm the pieces it returns always add
// up to decoding everything at once, malformed bytes (U+FFFD) included. So push() + flush() === decode(ids),
// at O(token length) per token.

import { invalidArgument } from "../errors.ts";

export interface StreamDecoder {
  /** Adds one token; returns the text that is now complete (possibly ""). */
  push(id: number): string;
  /** Ends the stream: returns what was held back (an incomplete character decodes to U+FFFD). */
  flush(): string;
}

export interface PieceSource {
  pieceBytes(id: number): Uint8Array;
  isSpecial(id: number): boolean;
  readonly stripLeadingSpaces: number;
}

/** UTF-8 decoder that keeps a leading U+FEFF (TextDecoder drops it by default: decode must be lossless). */
export const newUtf8Decoder = (): TextDecoder => new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export function createStreamDecoder(source: PieceSource, skipSpecialTokens: boolean, check: (id: number) => void): StreamDecoder {
  const decoder = newUtf8Decoder();
  let toStrip = source.stripLeadingSpaces;
  let done = false;
  return {
    push(id: number): string {
      if (done) throw invalidArgument("this stream decoder was flushed; create a new one for the next stream");
      check(id);
      if (skipSpecialTokens && source.isSpecial(id)) return "";
      let bytes = source.pieceBytes(id);
      if (toStrip > 0 && bytes.length > 0) {
        let i = 0;
        while (i < bytes.length && i < toStrip && bytes[i] === 0x20) i++;
        toStrip = i < bytes.length ? 0 : toStrip - i; // stop at the first byte that is not a stripped space
        bytes = bytes.subarray(i);
      }
      return bytes.length === 0 ? "" : decoder.decode(bytes, { stream: true });
    },
    flush(): string {
      if (done) return "";
      done = true;
      return decoder.decode();
    },
  };
}

/** Decodes a whole id list the same way (one code path for the leading-space rule). */
export function decodeAll(source: PieceSource, ids: readonly number[], skipSpecialTokens: boolean, check: (id: number) => void): string {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const id of ids) {
    check(id);
    if (skipSpecialTokens && source.isSpecial(id)) continue;
    const p = source.pieceBytes(id);
    parts.push(p);
    total += p.length;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  let i = 0;
  while (i < all.length && i < source.stripLeadingSpaces && all[i] === 0x20) i++;
  return newUtf8Decoder().decode(all.subarray(i));
}
