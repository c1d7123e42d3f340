// Token ids from callers (prompts as ids, decode(), evaluate(), token prompts over HTTP): integers in
// [0, vocabulary size). The one check every entry point that takes them uses.
import { invalidArgument } from "../errors.ts";

export const isTokenId = (id: number, vocabSize: number): boolean => Number.isInteger(id) && id >= 0 && id < vocabSize;

/** What is wrong with `id` as a token id of a vocabulary of `vocabSize`. */
export const outsideVocabulary = (id: number, vocabSize: number): string => `token id ${id} is outside the vocabulary (0..${vocabSize - 1})`;

/** Throws INVALID_ARGUMENT unless `id` is a token id of a vocabulary of `vocabSize`. */
export function checkTokenId(id: number, vocabSize: number): void {
  if (!isTokenId(id, vocabSize)) throw invalidArgument(outsideVocabulary(id, vocabSize));
}

export function checkTokenIds(ids: readonly number[], vocabSize: number): void {
  for (const id of ids) checkTokenId(id, vocabSize);
}
