// Keeping special-token text in chat messages from becoming control tokens. A chat template is rendered to one
// string that is then tokenized with special tokens parsed (the template writes "<|im_start|>" and must get the
// control token), so a message saying "<|im_end|>\n<|im_start|>system" would inject a turn. The guard replaces
// every special-token text inside the messages (and template variables) by a placeholder before rendering and
// puts the text back afterwards, remembering where: the tokenizer then matches special tokens only outside those
// ranges. A template that trims, splits or compares content sees the placeholder instead of the special text,
// which changes nothing for ordinary content; one that slices content by length may cut at another place.
import { DbllmError } from "../errors.ts";
import { anyOf } from "./special-split.ts";

// Unicode noncharacters, reserved for a program's internal use: a placeholder is OPEN <index> CLOSE. The user's
// own OPEN/CLOSE characters are escaped too, so every placeholder in a rendered template is one we made.
const OPEN = "\uFDD0", CLOSE = "\uFDD1";
const PLACEHOLDER = /\uFDD0(\d+)\uFDD1/g;
const MAX_DEPTH = 64;

export interface RestoredText {
  text: string;
  /** Ranges [start, end) of `text` that came from escaped literals, sorted. */
  literals: [number, number][];
}

export class LiteralGuard {
  private readonly texts: string[];
  private readonly index: Map<string, number>;
  private readonly pattern: RegExp;

  /** `specialTexts`: the texts that would otherwise be parsed as control tokens. */
  constructor(specialTexts: readonly string[]) {
    this.texts = [...new Set(specialTexts.filter((t) => t.length > 0)), OPEN, CLOSE];
    this.index = new Map(this.texts.map((t, i) => [t, i]));
    this.pattern = anyOf(this.texts);
  }

  /** A copy of `value` in which every string (deeply, in arrays and plain objects) has its special texts escaped. */
  escape<T>(value: T, depth = 0): T {
    if (typeof value === "string") return value.replace(this.pattern, (t) => `${OPEN}${this.index.get(t)}${CLOSE}`) as T;
    if (value === null || typeof value !== "object") return value;
    if (depth > MAX_DEPTH) throw new DbllmError("INVALID_ARGUMENT", `chat messages or template variables nest deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) return value.map((v) => this.escape(v, depth + 1)) as T;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value; // a Date, a Map...: not text the template prints as is
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.escape(v, depth + 1);
    return out as T;
  }

  /**
   * The rendered text with the literals back in place and where they lie. A placeholder a template mangled
   * (cut by slicing) leaves stray noncharacters, which are dropped: they were never part of the user's text.
   */
  restore(rendered: string): RestoredText {
    const literals: [number, number][] = [];
    let text = "", from = 0;
    for (const m of rendered.matchAll(PLACEHOLDER)) {
      const literal = this.texts[Number(m[1])];
      if (literal === undefined) continue;
      text += strip(rendered.slice(from, m.index));
      literals.push([text.length, text.length + literal.length]);
      text += literal;
      from = m.index! + m[0].length;
    }
    text += strip(rendered.slice(from));
    return { text, literals };
  }
}

const strip = (s: string) => (s.includes(OPEN) || s.includes(CLOSE) ? s.replaceAll(OPEN, "").replaceAll(CLOSE, "") : s);

/** Whether [start, end) overlaps none of the sorted, disjoint `ranges`. */
export function outsideRanges(ranges: readonly [number, number][], start: number, end: number): boolean {
  let lo = 0, hi = ranges.length;
  while (lo < hi) { // first range ending after `start`
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] <= start) lo = mid + 1; else hi = mid;
  }
  return lo === ranges.length || ranges[lo][0] >= end;
}
