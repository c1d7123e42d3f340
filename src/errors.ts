// One error type for everything dbllm rejects, with a machine-readable code. Callers switch on `code`;
// the message says what was wrong and, where it helps, what to do about it.

export type DbllmErrorCode =
  | "INVALID_FILE" // not a model file we understand, or internally inconsistent
  | "TRUNCATED_FILE" // the file ends before the data its header promises
  | "SIZE_LIMIT" // a size in a header is absurd or would not fit (checked before allocating)
  | "UNSUPPORTED_VERSION" // a container version we do not read
  | "UNSUPPORTED_ARCHITECTURE"
  | "UNSUPPORTED_TENSOR_TYPE"
  | "MISSING_TENSOR"
  | "TENSOR_SHAPE" // a tensor's shape does not match the model configuration
  | "INVALID_CONFIG" // config.json / metadata missing or inconsistent
  | "NON_FINITE" // a weight or scale in the file is NaN or infinite, or the forward pass produced such logits
  | "TOKENIZER" // tokenizer data missing or malformed
  | "CHAT_TEMPLATE" // the model has no chat template, it failed to render, or it exceeded its step/time/output budget
  | "NOT_FOUND" // a path or URL that does not exist
  | "IO" // a read or fetch failed
  | "OUT_OF_MEMORY" // the model or context does not fit into wasm memory
  | "UNSUPPORTED_ENVIRONMENT" // this runtime cannot run the kernels as given (no SIMD or relaxed SIMD, or no wasm compilation from bytes)
  | "WORKER_FAILED" // a worker of the thread pool failed to start, stopped answering, or a kernel failed in it; the model worker failed
  | "EMPTY_PROMPT"
  | "CONTEXT_OVERFLOW" // prompt or generation longer than the context (with onContextFull: 'error')
  | "INVALID_TEXT" // text that is not well-formed Unicode / UTF-8, or that the vocabulary has no tokens for
  | "INVALID_ARGUMENT"
  | "ABORTED" // an AbortSignal fired
  | "DISPOSED" // a model or session used after dispose()
  | "INTERNAL"; // an invariant of dbllm itself broke: a bug, whatever the input

export class DbllmError extends Error {
  readonly code: DbllmErrorCode;
  constructor(code: DbllmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DbllmError";
    this.code = code;
  }
}

/** Throws the ABORTED error if `signal` has fired (the signal's reason is kept as the cause). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DbllmError("ABORTED", "the operation was aborted", { cause: signal.reason });
}

export function invalidArgument(message: string): DbllmError {
  return new DbllmError("INVALID_ARGUMENT", message);
}

/** A broken invariant of dbllm's own (never caused by input): reported as a bug, with what broke. */
export function internalError(message: string): DbllmError {
  return new DbllmError("INTERNAL", `internal: ${message} (a bug in dbllm; please report it)`);
}
