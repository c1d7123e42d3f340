// The messages between a page and its model worker. The page side (connection.ts, worker-model.ts) keeps a
// proxy Model; the worker (model-worker.ts) holds the real one. Every request carries an id; what answers it
// carries the same id. Sessions are numbered by the page (0: the model's default session), so that
// createSession() can return at once.
//
//   page → worker: load · session (create) · generate · evaluate · reset · dispose-session · abort (any id) ·
//                  bytes (a chunk of a lent stream) · response (to a fetch)
//   worker → page: ready · progress · loaded · chunk · done · logits · failed ·
//                  pull / cancel (a lent stream) · fetch / fetch-abort (the page's fetch option)
//
// Functions (onProgress, fetch) stay on the page and are reached through messages; AbortSignals become `abort`
// messages; streams the page holds (a ReadableStream or Response source, a fetched body, an ArrayBuffer read in
// slices) are pulled chunk by chunk (stream-bridge.ts). Errors cross as { name, code, message } and become the
// same DbllmError again (errorFromWire).
import { DbllmError, type DbllmErrorCode } from "../errors.ts";
import type { GenerateOptions, GenerationChunk, GenerationResult } from "../generate/options.ts";
import type { LoadOptions } from "../model/load-options.ts";
import type { LoadProgress } from "../model/loader.ts";
import type { ModelInfo, Placement } from "../model/model.ts";
import type { ChatOptions, SessionOptions } from "../model/session.ts";
import type { ChatMessage } from "../tokenizer/index.ts";

/** A model source as it crosses to the worker: a URL (absolute), a Blob (shared, not copied), or a lent stream. */
export type WireSource =
  | { kind: "url"; url: string }
  | { kind: "blob"; blob: Blob }
  /**
   * Lent stream `stream` (a ReadableStream or Response source, or an ArrayBuffer read in slices), with the name
   * and size openModel gives such a source on the page.
   */
  | { kind: "stream"; stream: number; name: string; size: number | undefined };

/** loadModel's options without what cannot cross (functions, the signal), plus whether the page has them. */
export type WireLoadOptions = Omit<LoadOptions, "onProgress" | "signal" | "fetch" | "worker"> & { progress: boolean; fetch: boolean };

export type WireGenerateOptions = Omit<GenerateOptions, "signal">;
export type WireChatOptions = Omit<ChatOptions, "signal">;

/** A request a fetch of the worker makes through the page's `fetch` option. */
export interface WireRequest {
  url: string;
  method: string;
  headers: [string, string][];
  cache?: RequestCache;
  credentials?: RequestCredentials;
  redirect?: RequestRedirect;
}

export interface WireError {
  name: string;
  message: string;
  code?: DbllmErrorCode;
}

/** What the page mirrors after every operation: a session's tokens (none for the default session), info(). */
export interface WireState {
  session: number;
  tokens: number[] | undefined;
  info: ModelInfo;
}

export type ToWorker =
  | { type: "load"; id: number; source: WireSource; options: WireLoadOptions; runsIn: Placement }
  | { type: "session"; session: number; options: SessionOptions }
  | { type: "generate"; id: number; session: number; prompt: string | readonly number[]; options: WireGenerateOptions }
  | { type: "chat"; id: number; session: number; messages: ChatMessage[]; options: WireChatOptions }
  | { type: "evaluate"; id: number; session: number; ids: readonly number[] }
  | { type: "reset"; session: number }
  | { type: "dispose-session"; session: number }
  | { type: "abort"; id: number }
  | { type: "bytes"; stream: number; chunk?: Uint8Array; done?: boolean; error?: WireError }
  | { type: "response"; fetch: number; status?: number; statusText?: string; headers?: [string, string][]; body?: number | null; error?: WireError };

export type FromWorker =
  | { type: "ready" }
  | { type: "progress"; id: number; progress: LoadProgress }
  | { type: "loaded"; id: number; info: ModelInfo; tokenizer: string }
  | { type: "chunk"; id: number; chunk: GenerationChunk }
  | { type: "done"; id: number; result: GenerationResult; state: WireState }
  | { type: "logits"; id: number; logits: Float32Array; state: WireState }
  | { type: "failed"; id: number; error: WireError; state?: WireState }
  | { type: "pull"; stream: number }
  | { type: "cancel"; stream: number }
  | { type: "fetch"; fetch: number; request: WireRequest }
  | { type: "fetch-abort"; fetch: number };

/** Any thrown value as it crosses: DbllmErrors keep their code. */
export function errorToWire(e: unknown): WireError {
  if (e instanceof DbllmError) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: String(e) };
}

/** The error again, on the other side: a DbllmError with its code, else an Error of the same name. */
export function errorFromWire(w: WireError, cause?: unknown): Error {
  if (w.code) return new DbllmError(w.code, w.message, cause === undefined ? undefined : { cause });
  const e = new Error(w.message, cause === undefined ? undefined : { cause });
  e.name = w.name;
  return e;
}
