// OpenAI-style error responses: `{ error: { message, type, param, code } }` with a 4xx/5xx status. Everything
// the handler rejects becomes an HttpError; DbllmErrors from the runtime are mapped by their code.
import { DbllmError, type DbllmErrorCode } from "../errors.ts";

export type OpenAIErrorType = "invalid_request_error" | "not_found_error" | "server_error" | "rate_limit_error";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType = status >= 500 ? "server_error" : "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A 400 about one request parameter. */
export const badParam = (param: string, message: string, code = "invalid_value") => new HttpError(400, message, "invalid_request_error", param, code);

/** Status, type and code of each runtime error code (anything not listed is a 500). */
const DBLLM_STATUS: Partial<Record<DbllmErrorCode, [number, string]>> = {
  INVALID_ARGUMENT: [400, "invalid_value"],
  EMPTY_PROMPT: [400, "empty_prompt"],
  CONTEXT_OVERFLOW: [400, "context_length_exceeded"],
  CHAT_TEMPLATE: [400, "chat_template_error"],
  INVALID_TEXT: [400, "invalid_text"],
  ABORTED: [499, "aborted"],
  DISPOSED: [503, "model_unavailable"],
  OUT_OF_MEMORY: [503, "out_of_memory"],
  UNSUPPORTED_ENVIRONMENT: [503, "unsupported_environment"],
  INTERNAL: [500, "internal_error"],
};

/** Turns anything thrown while serving a request into an HttpError (`param` names the prompt's field). */
export function toHttpError(e: unknown, param: string | null = null): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof DbllmError) {
    const [status, code] = DBLLM_STATUS[e.code] ?? [500, e.code.toLowerCase()];
    const p = status === 400 && e.code !== "INVALID_ARGUMENT" ? param : null;
    return new HttpError(status, e.message, status >= 500 ? "server_error" : "invalid_request_error", p, code);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new HttpError(500, `internal error: ${message}`, "server_error", null, "internal_error");
}

export function errorBody(e: HttpError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

export function errorResponse(e: HttpError, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(e)), {
    status: e.status,
    headers: { "content-type": "application/json", ...extraHeaders, ...e.headers },
  });
}
