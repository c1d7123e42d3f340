// Tokens that end a turn or a document, recognised by their text as llama.cpp does (llama-vocab.cpp, "maintain a
// list of tokens that cause end-of-generation"): model files often name only one EOS, while chat models stop
// with another (<|eot_id|> for Llama-3, <|im_end|> for ChatML models).

export const END_OF_GENERATION_TEXTS: ReadonlySet<string> = new Set([
  "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
  "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
  "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
]);

/** Fill-in-the-middle pad / repository / file-separator tokens, which llama.cpp also treats as end of generation. */
export const FIM_END_TEXTS: ReadonlySet<string> = new Set([
  "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
  "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
  "<|file_sep|>",
]);

/** Unique ids, first occurrence first, without undefined. */
export function uniqueIds(ids: Iterable<number | undefined>): number[] {
  const out: number[] = [];
  for (const id of ids) if (id !== undefined && !out.includes(id)) out.push(id);
  return out;
}

/**
 * Texts llama.cpp promotes to control tokens when a GGUF marks them otherwise (end-of-turn and fill-in-the-middle
 * markers; "control-looking token ... its type will be overridden"), on top of the two lists above.
 */
export const CONTROL_LOOKING_TEXTS: ReadonlySet<string> = new Set([
  ...END_OF_GENERATION_TEXTS, ...FIM_END_TEXTS,
  "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
  "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
  "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
]);
