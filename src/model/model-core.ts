// What sessions share: the engine, the placed weights behind one Forward, the tokenizer and defaults.
import type { Engine } from "../engine/engine.ts";
import { DbllmError } from "../errors.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import { renderChatTemplate, type ChatMessage, type Tokenizer } from "../tokenizer/index.ts";
import type { ModelConfig } from "./config.ts";
import type { Forward } from "./forward.ts";

export interface ModelCore {
  readonly engine: Engine;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly forward: Forward;
  /** Default context length of new sessions. */
  readonly contextLength: number;
  /** Sampling defaults from the model's generation_config, if any. */
  readonly samplingDefaults: Partial<SamplingOptions>;
  encodeChat(messages: ChatMessage[], variables?: Record<string, unknown>): number[];
}

export function chatEncoder(tokenizer: Tokenizer) {
  return (messages: ChatMessage[], variables?: Record<string, unknown>): number[] => {
    if (!Array.isArray(messages) || messages.length === 0) throw new DbllmError("EMPTY_PROMPT", "chat() needs at least one message");
    const template = tokenizer.chatTemplate;
    if (!template) throw new DbllmError("CHAT_TEMPLATE", "this model has no chat template; use generate() with a prompt you format yourself");
    const text = renderChatTemplate(template, messages, {
      addGenerationPrompt: true,
      bosToken: tokenizer.bosTokenId !== undefined ? tokenizer.idToToken(tokenizer.bosTokenId) : undefined,
      eosToken: tokenizer.eosTokenIds.length ? tokenizer.idToToken(tokenizer.eosTokenIds[0]) : undefined,
      extra: variables,
    });
    // Templates write BOS themselves where the model wants it, as transformers' apply_chat_template assumes.
    return tokenizer.encode(text, { addSpecialTokens: false });
  };
}
