// The handler's public types: its options, what it logs per request, its counters and the model it serves.
import type { ModelApi as Model } from "../model/model-api.ts";

export interface HandlerOptions {
  /** The model's id in requests and in GET /v1/models (default: the model file's name without extension). */
  modelId?: string;
  /**
   * Requests generating at the same time, each in its own session with its own KV cache (default 1: one at a
   * time, in arrival order). Each slot costs a full KV cache (info().kvBytesPerToken × contextLength) and the
   * slots share the CPU, so more slots only help latency of short requests behind long ones.
   */
  parallel?: number;
  /** Requests that may wait for a slot; more are refused with 503 (default 16). */
  maxQueue?: number;
  /** Largest request body in bytes (default 1 MiB); larger ones get 413 without being read whole. */
  maxBodyBytes?: number;
  /** Context length of each slot's session (default: the model's contextLength). */
  contextLength?: number;
  /** Most tokens one request may generate (default: the context length); larger max_tokens get 400. */
  maxTokens?: number;
  /** Path prefix of the API (default "/v1"). */
  basePath?: string;
  /**
   * Let special-token texts in message content and prompts ("<|im_end|>") become control tokens. Default false:
   * whatever a client sends is text, and chat requests get only the markers the model's template writes.
   */
  parseSpecialTokens?: boolean;
  /** Add CORS headers (true: any origin, or the allowed origin) and answer preflight requests. */
  cors?: boolean | string;
  /** Called once per request when it has ended (a streamed request ends with its last event). */
  onRequest?: (entry: RequestLog) => void;
}

export interface RequestLog {
  id: string;
  method: string;
  path: string;
  status: number;
  ms: number;
  stream?: boolean;
  promptTokens?: number;
  cachedPromptTokens?: number;
  completionTokens?: number;
  tokensPerSecond?: number;
  finishReason?: string;
  error?: string;
}

export interface HandlerStats {
  /** Requests received. */
  requests: number;
  /** Requests generating now / waiting for a slot. */
  active: number;
  queued: number;
  /** Tokens generated since the handler was created (grows by one per token while anything generates). */
  generatedTokens: number;
}

/** `(request) => Promise<Response>`, plus counters and a shutdown. */
export interface OpenAIHandler {
  (request: Request): Promise<Response>;
  stats(): HandlerStats;
  /** Refuses new requests (503), aborts waiting and running ones, waits for them to end and frees the slots. */
  close(): Promise<void>;
}

/** A loaded model, a promise of one, or a function returning one (called on the first request: edge runtimes
 * that forbid I/O outside a request can load lazily). A failed load is retried on the next request, except when
 * the runtime cannot run dbllm as given (UNSUPPORTED_ENVIRONMENT): every request then gets that 503 at once. */
export type ModelProvider = Model | Promise<Model> | (() => Model | Promise<Model>);
