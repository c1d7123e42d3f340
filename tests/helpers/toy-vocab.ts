// A small byte-level BPE vocabulary trained here on a fixed text (GPT-2 style: 256 byte tokens, merges,
// ChatML-like special tokens), emitted both as an HF tokenizer.json and as GGUF vocabulary arrays, so random
// test models have a real, self-consistent tokenizer in both containers.

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const TRAINING_TEXT = `Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,
and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.
It is a way I have of driving off the spleen and regulating the circulation. Whenever I find myself growing grim about the
mouth; whenever it is a damp, drizzly November in my soul; whenever I find myself involuntarily pausing before coffin
warehouses, and bringing up the rear of every funeral I meet; then, I account it high time to get to sea as soon as I can.
The quick brown fox jumps over the lazy dog. 1234567890 The state of the union is strong, and the people are the nation.`;

export function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (!map[b]) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

export interface ToyVocab {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  bos: number;
  eos: number;
  imStart: number;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  chatTemplate: string;
}

const CHAT_TEMPLATE = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function byteLevelVocab(nMerges: number, vocabSize?: number): ToyVocab {
  const b2u = byteToUnicode();
  const enc = new TextEncoder();
  const words = new Map<string, number>();
  for (const m of TRAINING_TEXT.matchAll(GPT2_SPLIT)) {
    const w = Array.from(enc.encode(m[0]), (b) => b2u[b]).join("\u0000");
    words.set(w, (words.get(w) ?? 0) + 1);
  }
  let seqs = [...words].map(([w, n]) => ({ parts: w.split("\u0000"), n }));
  const tokens = [...b2u];
  const merges: string[] = [];
  const known = new Set(tokens);
  for (let m = 0; m < nMerges; m++) {
    const counts = new Map<string, number>();
    for (const { parts, n } of seqs) for (let i = 0; i + 1 < parts.length; i++) {
      const k = parts[i] + " " + parts[i + 1];
      counts.set(k, (counts.get(k) ?? 0) + n);
    }
    let best = "", bn = 0;
    for (const [k, n] of counts) if (n > bn || (n === bn && k < best)) { best = k; bn = n; }
    if (!best) break;
    const [a, b] = best.split(" ");
    const merged = a + b;
    merges.push(best);
    if (!known.has(merged)) { tokens.push(merged); known.add(merged); }
    seqs = seqs.map(({ parts, n }) => {
      const out: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) { out.push(merged); i++; } else out.push(parts[i]);
      }
      return { parts: out, n };
    });
  }
  const tokenTypes = tokens.map(() => 1);
  const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
  const specialIds = specials.map((s) => { tokens.push(s); tokenTypes.push(3); return tokens.length - 1; });
  if (vocabSize !== undefined) {
    if (vocabSize < tokens.length) throw new Error(`vocabSize ${vocabSize} < ${tokens.length}`);
    for (let i = 0; tokens.length < vocabSize; i++) { tokens.push(`<|extra_${i}|>`); tokenTypes.push(3); }
  }
  const [bos, imStart, eos] = specialIds;
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { if (tokenTypes[i] === 1) vocab[t] = i; });
  const added = tokens.flatMap((t, i) => (tokenTypes[i] === 3 ? [{ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : []));
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|endoftext|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<|endoftext|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<|endoftext|>": { id: "<|endoftext|>", ids: [bos], tokens: ["<|endoftext|>"] } },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  const tokenizerConfig = {
    add_bos_token: true,
    bos_token: "<|endoftext|>",
    eos_token: "<|im_end|>",
    chat_template: CHAT_TEMPLATE,
    model_max_length: 512,
    tokenizer_class: "GPT2Tokenizer",
  };
  return { tokens, tokenTypes, merges, bos, eos, imStart, tokenizerJson, tokenizerConfig, chatTemplate: CHAT_TEMPLATE };
}
