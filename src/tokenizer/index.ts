// The tokenizer: one Tokenizer for HF tokenizer.json and GGUF vocabularies, streaming detokenization and chat
// templates. See docs/TOKENIZER.md.
export { Tokenizer, type EncodeOptions, type DecodeOptions, type ChatEncodeOptions } from "./tokenizer.ts";
export type { StreamDecoder } from "./stream-decoder.ts";
export { renderChatTemplate, strftime, type ChatMessage, type ChatTemplateOptions } from "./chat-template.ts";
export { byteLevelBpeTokenizerJson } from "./hf.ts";
export { TokenType } from "./gguf-vocab.ts";
export { checkTokenIds, isTokenId, outsideVocabulary } from "./token-ids.ts";
