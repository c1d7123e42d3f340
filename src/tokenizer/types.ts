// What a vocabulary source (tokenizer.json, GGUF metadata) provides to the Tokenizer. The Tokenizer adds input
// checks, decoding, streaming and chat templates on top, the same way for every source.

export interface TokenizerBackend {
  /** e.g. "hf BPE (byte-level)", "gguf llama (SentencePiece)", "gguf gpt2 (smollm)". */
  readonly description: string;
  readonly vocabSize: number;
  /** `text` is well-formed (checked by the caller). */
  encode(text: string, addSpecialTokens: boolean, special: SpecialParsing): number[];
  /** Texts of the special tokens, which only become control tokens when special tokens are parsed. */
  readonly specialTexts: readonly string[];
  /** The vocabulary entry as stored ("▁the", "Ġthe", "<0x0A>", "<|im_start|>"). */
  tokenText(id: number): string | undefined;
  tokenId(text: string): number | undefined;
  /** The bytes token `id` adds to decoded text (before the decoder's leading-space strip). */
  pieceBytes(id: number): Uint8Array;
  /** Control tokens: dropped by decode({ skipSpecialTokens: true }). */
  isSpecial(id: number): boolean;
  /** How many leading spaces the decoder removes from the start of the output (SentencePiece: 1). */
  readonly stripLeadingSpaces: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: readonly number[];
  readonly unkTokenId: number | undefined;
  readonly addBosToken: boolean;
  readonly addEosToken: boolean;
  readonly chatTemplate: string | undefined;
}

/**
 * Which special-token texts in a text become control tokens: all (true), none (false: they stay text), or those
 * lying where `allowed(start, end)` says (a rendered chat template: the template's markers, not the messages).
 * Non-special added tokens (user-defined) are matched in every case.
 */
export type SpecialParsing = boolean | ((start: number, end: number) => boolean);
