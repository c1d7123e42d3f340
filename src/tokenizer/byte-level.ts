// GPT-2's byte-level alphabet: every byte 0..255 is written as one printable code point, so that byte-level
// BPE vocabularies ("Ġthe" = " the") are plain strings. Printable Latin-1 bytes stand for themselves; the
// others are shifted to U+0100.. in byte order. Same table as GPT-2's bytes_to_unicode and llama.cpp's unicode.cpp.
import { DbllmError } from "../errors.ts";

/** BYTE_TO_CHAR[b] is the code point that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return out;
})();

/** CHAR_TO_BYTE[code unit] = byte, or -1 for characters outside the alphabet (all of it lies below U+0144). */
const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => { out[c.charCodeAt(0)] = b; });
  return out;
})();

/** Writes the UTF-8 bytes of `text` in the byte-level alphabet ("é" → "Ã©"). `text` must be well-formed. */
export function byteLevelEncode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) { out += BYTE_TO_CHAR[cp]; continue; }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
    }
    if (cp < 0x800) {
      out += BYTE_TO_CHAR[0xc0 | (cp >> 6)] + BYTE_TO_CHAR[0x80 | (cp & 63)];
    } else if (cp < 0x10000) {
      out += BYTE_TO_CHAR[0xe0 | (cp >> 12)] + BYTE_TO_CHAR[0x80 | ((cp >> 6) & 63)] + BYTE_TO_CHAR[0x80 | (cp & 63)];
    } else {
      out += BYTE_TO_CHAR[0xf0 | (cp >> 18)] + BYTE_TO_CHAR[0x80 | ((cp >> 12) & 63)] +
        BYTE_TO_CHAR[0x80 | ((cp >> 6) & 63)] + BYTE_TO_CHAR[0x80 | (cp & 63)];
    }
  }
  return out;
}

const utf8 = new TextEncoder();

/**
 * The bytes a byte-level token stands for. Characters outside the alphabet (only in malformed vocabularies, or
 * added tokens stored verbatim) are kept as their own UTF-8 bytes rather than dropped.
 */
export function byteLevelDecode(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  let n = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    if (b >= 0) { out[n++] = b; continue; }
    return utf8.encode(token); // not a byte-level token at all: take it literally
  }
  return out;
}

/**
 * The error for a byte-level word holding a byte the vocabulary has no token for (SmolLM2's lacks 21 of the 256).
 * Dropping the byte, as llama.cpp and HF tokenizers do, would turn the character into U+FFFD on the way back.
 */
export function missingByteError(word: string, hasToken: (token: string) => boolean): DbllmError {
  const missing = [...word].find((c) => !hasToken(c)) ?? word;
  const byte = missing.length === 1 && missing.charCodeAt(0) < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[missing.charCodeAt(0)] : -1;
  const what = byte >= 0 ? `byte 0x${byte.toString(16).toUpperCase().padStart(2, "0")}` : `the piece ${JSON.stringify(missing)}`;
  const text = new TextDecoder().decode(byteLevelDecode(word));
  return new DbllmError("INVALID_TEXT", `cannot encode ${JSON.stringify(text)}: the vocabulary has no token for its ${what}; remove or replace that character`);
}
