// Pre-tokenizers of GGUF byte-level BPE vocabularies, chosen by `tokenizer.ggml.pre`, as llama.cpp defines them
// (src/llama-vocab.cpp, llm_tokenizer_bpe). Each entry is a list of regexes applied one after the other: every
// regex splits every fragment into its matches and the text between them (llama.cpp's unicode_regex_split).
//
// The regexes are llama.cpp's, translated to JavaScript with llama.cpp's character classes:
//  - `\s` is Unicode White_Space (llama.cpp's whitespace table; JavaScript's own `\s` adds U+FEFF, misses U+0085);
//  - `\p{Lu}`, `\p{Ll}`, ... match any letter, because llama.cpp collapses code points to their major category
//    before running a regex it has no hand-written matcher for.
// llama.cpp's hand-written matchers for the GPT-2, Llama-3, Qwen2 and Qwen3.5 patterns behave like these regexes.
import { DbllmError } from "../errors.ts";

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN35 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const GPT4O_LETTERS = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+";
const GPT4O = `${GPT4O_LETTERS}${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const TEKKEN = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const BLOOM = " ?[^(\\s|.,!?…。，、।۔،)]+";
const CJK = "[一-龥ࠀ-一가-퟿]+";

export interface PreTokenizerSpec {
  /** llama.cpp's name for the family (for messages). */
  readonly family: string;
  readonly regexes: readonly string[];
  /** Whole words already in the vocabulary skip the merges (Llama-3's `ignore_merges`). */
  readonly ignoreMerges: boolean;
  /** llama.cpp's add_bos default for this family (`tokenizer.ggml.add_bos_token` overrides it). */
  readonly addBos: boolean;
}

const spec = (family: string, regexes: string[], ignoreMerges = false, addBos = false): PreTokenizerSpec =>
  ({ family, regexes, ignoreMerges, addBos });

const FAMILIES: [names: string[], spec: PreTokenizerSpec][] = [
  [["default"], spec("default", ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"])],
  [["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
    spec("llama3", [LLAMA3], true, true)],
  [["dbrx", "smaug-bpe"], spec("dbrx", [LLAMA3])],
  [["glm4", "chatglm-bpe"], spec("chatglm4", [LLAMA3])],
  [["deepseek-llm"], spec("deepseek-llm", [
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    CJK,
    "\\p{N}+",
  ])],
  [["deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"], spec("deepseek3", [
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
  ])],
  [["deepseek-coder"], spec("deepseek-coder", ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}"])],
  [["falcon"], spec("falcon", ["[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"])],
  [["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"],
    spec("starcoder", ["\\p{N}", GPT2])],
  [["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
    "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe"],
    spec("gpt2", [GPT2])],
  [["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open"], spec("qwen2", [QWEN2])],
  [["qwen35"], spec("qwen35", [QWEN35])],
  [["poro-chat", "bloom", "gpt3-finnish"], spec("bloom", [BLOOM])],
  [["viking"], spec("viking", [BLOOM, "\\p{N}"])],
  [["tekken"], spec("tekken", [TEKKEN], true, true)],
  [["gpt-4o", "llama4", "kanana2", "talkie"], spec("gpt4o", [GPT4O])],
  [["seed-coder"], spec("seed-coder", [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`])],
  [["grok-2"], spec("grok-2", [QWEN2])],
  [["ufakzeka"], spec("ufakzeka", ["[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"])],
  [["bailingmoe", "bailingmoe2", "llada-moe"], spec("bailingmoe", ["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"])],
  [["chameleon"], spec("chameleon", [
    "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", GPT2,
  ], false, true)],
];

const BY_NAME = new Map<string, PreTokenizerSpec>();
for (const [names, s] of FAMILIES) for (const n of names) BY_NAME.set(n, s);

/** The pre-tokenizer for a `tokenizer.ggml.pre` value (missing means llama.cpp's "default"). */
export function preTokenizerFor(pre: string | undefined, where: string): PreTokenizerSpec {
  const s = BY_NAME.get(pre ?? "default");
  if (!s) {
    throw new DbllmError("TOKENIZER", `${where}: pre-tokenizer "${pre}" (tokenizer.ggml.pre) is not supported; ` +
      `supported: ${[...BY_NAME.keys()].join(", ")}`);
  }
  return s;
}

/** Translates one of llama.cpp's regexes into a JavaScript one with llama.cpp's character classes. */
export function compileLlamaRegex(source: string): RegExp {
  const js = source
    .replace(/\\p\{L[ultmo]\}/g, "\\p{L}")
    .replace(/\\s/g, "\\p{White_Space}")
    .replace(/\\S/g, "\\P{White_Space}");
  return new RegExp(js, "gu");
}

/** Splits `text` into words: each regex in turn splits every fragment into its matches and the gaps between. */
export function splitWords(text: string, regexes: readonly RegExp[]): string[] {
  let fragments = [text];
  for (const re of regexes) {
    const next: string[] = [];
    for (const f of fragments) {
      let last = 0;
      re.lastIndex = 0;
      for (let m = re.exec(f); m !== null; m = re.exec(f)) {
        const s = m.index, e = s + m[0].length;
        if (e === s) { re.lastIndex++; continue; } // no empty words
        if (s > last) next.push(f.slice(last, s));
        next.push(m[0]);
        last = e;
      }
      if (last < f.length) next.push(last === 0 ? f : f.slice(last));
    }
    fragments = next;
  }
  return fragments;
}
