// The OpenAI request and response shapes: validating a chat/completions request body into generation options
// (OpenAI parameter names in every error), and building the completion objects and stream chunks.
import type { GenerateOptions, GenerationStats, StopReason } from "../generate/options.ts";
import type { ChatMessage } from "../tokenizer/index.ts";
import { badParam } from "./errors.ts";

export type Endpoint = "chat" | "completions";

/** A validated request: what to generate from, with which options, and how to answer. */
export interface Job {
  endpoint: Endpoint;
  /** Model named in the request (undefined when absent). */
  model: string | undefined;
  messages?: ChatMessage[];
  prompt?: string | number[];
  /** Completions with echo: the prompt is prepended to the text. */
  echo: boolean;
  stream: boolean;
  includeUsage: boolean;
  options: GenerateOptions;
}

export interface JobLimits {
  /** Largest max_tokens a request may ask for. */
  maxTokens: number;
  /** max_tokens of completions that do not say (OpenAI's default is 16). */
  completionsDefaultMaxTokens: number;
}

type Body = Record<string, unknown>;

const isSet = (v: unknown) => v !== undefined && v !== null;

function number(b: Body, name: string, lo: number, hi: number, integer = false): number | undefined {
  const v = b[name];
  if (!isSet(v)) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw badParam(name, `${name} must be ${integer ? "an integer" : "a number"}, got ${JSON.stringify(v)}`, "invalid_type");
  }
  if (v < lo || v > hi) throw badParam(name, `${name} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

function bool(b: Body, name: string): boolean {
  const v = b[name];
  if (!isSet(v)) return false;
  if (typeof v !== "boolean") throw badParam(name, `${name} must be a boolean, got ${JSON.stringify(v)}`, "invalid_type");
  return v;
}

/** Parameters we do not implement: rejected when they ask for something, rather than silently ignored. */
function rejectUnsupported(b: Body): void {
  const nonEmpty = (v: unknown) => isSet(v) && !(Array.isArray(v) && v.length === 0) && !(typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0);
  const unsupported = (name: string, why = "is not supported by this server") => badParam(name, `${name} ${why}`, "unsupported_parameter");
  const n = b.n;
  if (isSet(n) && n !== 1) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw badParam("n", `n must be a positive integer, got ${JSON.stringify(n)}`);
    throw unsupported("n", "must be 1: this server generates one choice per request");
  }
  const bestOf = b.best_of;
  if (isSet(bestOf) && bestOf !== 1) throw unsupported("best_of", "must be 1: this server generates one choice per request");
  if (b.logprobs === true || typeof b.logprobs === "number") throw unsupported("logprobs");
  if (isSet(b.top_logprobs) && b.top_logprobs !== 0) throw unsupported("top_logprobs");
  if (nonEmpty(b.logit_bias)) throw unsupported("logit_bias");
  if (nonEmpty(b.tools) || nonEmpty(b.functions)) throw unsupported(isSet(b.tools) ? "tools" : "functions", "(function calling) is not supported by this server");
  const rf = b.response_format as { type?: unknown } | undefined | null;
  if (isSet(rf) && rf!.type !== "text") throw unsupported("response_format", "other than {\"type\": \"text\"} is not supported by this server");
  if (typeof b.suffix === "string" && b.suffix !== "") throw unsupported("suffix");
}

/** max_tokens / max_completion_tokens → maxTokens (1 ≤ n ≤ the limit). */
function maxTokens(b: Body, limits: JobLimits, fallback: number | undefined): number | undefined {
  const name = isSet(b.max_completion_tokens) ? "max_completion_tokens" : "max_tokens";
  const v = b[name];
  if (!isSet(v)) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) throw badParam(name, `${name} must be an integer, got ${JSON.stringify(v)}`, "invalid_type");
  if (v < 1) throw badParam(name, `${name} must be at least 1, got ${v}`);
  if (v > limits.maxTokens) throw badParam(name, `${name} is too large: ${v}. This server generates at most ${limits.maxTokens} tokens per request (the context length)`);
  return v;
}

function stop(b: Body): string[] | undefined {
  const v = b.stop;
  if (!isSet(v)) return undefined;
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) throw badParam("stop", "stop must be a string or an array of strings", "invalid_type");
  if (list.length > 16) throw badParam("stop", `stop may hold at most 16 strings, got ${list.length}`);
  const kept = (list as string[]).filter((s) => s.length > 0);
  return kept.length ? kept : undefined;
}

function generateOptions(b: Body, limits: JobLimits, fallbackMaxTokens: number | undefined): GenerateOptions {
  const o: GenerateOptions = {
    maxTokens: maxTokens(b, limits, fallbackMaxTokens),
    temperature: number(b, "temperature", 0, 2),
    topP: number(b, "top_p", 0, 1),
    presencePenalty: number(b, "presence_penalty", -2, 2),
    frequencyPenalty: number(b, "frequency_penalty", -2, 2),
    seed: number(b, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true),
    stop: stop(b),
    // common extras (llama.cpp / vLLM names)
    topK: number(b, "top_k", 0, 1e6, true),
    minP: number(b, "min_p", 0, 1),
    repetitionPenalty: number(b, "repetition_penalty", 0.001, 100) ?? number(b, "repeat_penalty", 0.001, 100),
  };
  // top_p 0 means "only the most likely token" (the runtime wants topP > 0): greedy.
  if (o.topP === 0) { o.topP = undefined; o.temperature = 0; }
  return o;
}

function streamOptions(b: Body, stream: boolean): boolean {
  const so = b.stream_options;
  if (!isSet(so)) return false;
  if (typeof so !== "object" || Array.isArray(so)) throw badParam("stream_options", "stream_options must be an object", "invalid_type");
  if (!stream) throw badParam("stream_options", "stream_options is only allowed with stream: true");
  const iu = (so as Body).include_usage;
  if (isSet(iu) && typeof iu !== "boolean") throw badParam("stream_options.include_usage", "stream_options.include_usage must be a boolean", "invalid_type");
  return iu === true;
}

function modelName(b: Body): string | undefined {
  const m = b.model;
  if (!isSet(m)) return undefined;
  if (typeof m !== "string") throw badParam("model", "model must be a string", "invalid_type");
  return m;
}

/** Message content: a string, or an array of text parts (other part types are not supported). */
function content(v: unknown, i: number): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) {
    return v.map((part, j) => {
      const p = part as { type?: unknown; text?: unknown } | null;
      if (!p || typeof p !== "object" || p.type !== "text" || typeof p.text !== "string") {
        throw badParam(`messages[${i}].content[${j}]`, `messages[${i}].content[${j}] must be a text part {"type": "text", "text": "…"}; other content types are not supported`);
      }
      return p.text;
    }).join("");
  }
  throw badParam(`messages[${i}].content`, `messages[${i}].content must be a string or an array of text parts`, "invalid_type");
}

function messages(b: Body): ChatMessage[] {
  const v = b.messages;
  if (!isSet(v)) throw badParam("messages", "messages is required", "missing_required_parameter");
  if (!Array.isArray(v)) throw badParam("messages", "messages must be an array", "invalid_type");
  if (v.length === 0) throw badParam("messages", "messages must hold at least one message", "empty_array");
  return v.map((m, i) => {
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw badParam(`messages[${i}]`, `messages[${i}] must be an object {role, content}`, "invalid_type");
    const { role, content: c, name } = m as Body;
    if (typeof role !== "string" || role === "") throw badParam(`messages[${i}].role`, `messages[${i}].role must be a non-empty string`, "invalid_type");
    const msg: ChatMessage = { role: role === "developer" ? "system" : role, content: content(c, i) };
    if (typeof name === "string") msg.name = name;
    return msg;
  });
}

function prompt(b: Body): string | number[] {
  let v = b.prompt;
  if (!isSet(v)) throw badParam("prompt", "prompt is required", "missing_required_parameter");
  if (Array.isArray(v) && v.length > 0 && (typeof v[0] === "string" || Array.isArray(v[0]))) {
    if (v.length > 1) throw badParam("prompt", "prompt may hold one prompt: batches are not supported by this server");
    v = v[0];
  }
  if (typeof v === "string") {
    if (v === "") throw badParam("prompt", "prompt is empty", "empty_prompt");
    return v;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) throw badParam("prompt", "prompt is empty", "empty_prompt");
    if (v.some((t) => typeof t !== "number" || !Number.isInteger(t) || t < 0)) throw badParam("prompt", "a token prompt must be an array of non-negative integers", "invalid_type");
    return v as number[];
  }
  throw badParam("prompt", "prompt must be a string, an array of token ids, or an array holding one of these", "invalid_type");
}

export function parseJob(endpoint: Endpoint, b: Body, limits: JobLimits): Job {
  rejectUnsupported(b);
  const stream = bool(b, "stream");
  const base = { endpoint, model: modelName(b), stream, includeUsage: streamOptions(b, stream) };
  if (endpoint === "chat") {
    return { ...base, messages: messages(b), echo: false, options: generateOptions(b, limits, undefined) };
  }
  return { ...base, prompt: prompt(b), echo: bool(b, "echo"), options: generateOptions(b, limits, Math.min(limits.completionsDefaultMaxTokens, limits.maxTokens)) };
}

// ---- responses ----

export type FinishReason = "stop" | "length";

export function finishReason(r: StopReason): FinishReason {
  return r === "eos" || r === "stop" ? "stop" : "length";
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usage(s: GenerationStats): Usage {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.generatedTokens,
    total_tokens: s.promptTokens + s.generatedTokens,
    prompt_tokens_details: { cached_tokens: s.cachedPromptTokens },
  };
}

/** Builds the objects of one response; `id` and `created` are shared by all chunks of a stream. */
export class Replies {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  constructor(readonly endpoint: Endpoint, readonly model: string, private readonly includeUsage = false) {
    this.id = `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-${randomId()}`;
  }

  private head(object: string) {
    return { id: this.id, object, created: this.created, model: this.model, system_fingerprint: "dbllm" };
  }

  complete(text: string, stats: GenerationStats): object {
    const finish_reason = finishReason(stats.stopReason);
    if (this.endpoint === "chat") {
      return { ...this.head("chat.completion"), choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason }], usage: usage(stats) };
    }
    return { ...this.head("text_completion"), choices: [{ index: 0, text, logprobs: null, finish_reason }], usage: usage(stats) };
  }

  /** A stream chunk with text (chat: `role` on the first one), or the last one with its finish reason. */
  chunk(text: string | undefined, finish: FinishReason | null, first = false): object {
    const u = this.includeUsage ? { usage: null } : {};
    if (this.endpoint === "chat") {
      const delta = text === undefined ? {} : first ? { role: "assistant", content: text } : { content: text };
      return { ...this.head("chat.completion.chunk"), choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...u };
    }
    return { ...this.head("text_completion"), choices: [{ index: 0, text: text ?? "", logprobs: null, finish_reason: finish }], ...u };
  }

  /** The extra last chunk of stream_options.include_usage: no choices, the usage. */
  usageChunk(stats: GenerationStats): object {
    return { ...this.head(this.endpoint === "chat" ? "chat.completion.chunk" : "text_completion"), choices: [], usage: usage(stats) };
  }
}

export function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID().replace(/-/g, "").slice(0, 24);
  return Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join("");
}

