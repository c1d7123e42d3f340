// What sessions share: the engine, the placed weights behind one Forward, the tokenizer and defaults.
import type { Engine } from "../engine/engine.ts";
import { DbllmError } from "../errors.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import type { ChatMessage, Tokenizer } from "../tokenizer/index.ts";
import type { ModelConfig } from "../config/model-config.ts";
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
  encodeChat(messages: ChatMessage[], variables?: Record<string, unknown>, parseSpecialTokens?: boolean): number[];
}

export function chatEncoder(tokenizer: Tokenizer) {
  return (messages: ChatMessage[], variables?: Record<string, unknown>, parseSpecialTokens = false): number[] => {
    if (!Array.isArray(messages) || messages.length === 0) throw new DbllmError("EMPTY_PROMPT", "chat() needs at least one message");
    if (!tokenizer.chatTemplate) throw new DbllmError("CHAT_TEMPLATE", "this model has no chat template; use generate() with a prompt you format yourself");
    return tokenizer.encodeChat(messages, { addGenerationPrompt: true, extra: variables, parseSpecialTokens });
  };
}
