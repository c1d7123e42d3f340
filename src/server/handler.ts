// The OpenAI-compatible HTTP API over web-standard Request/Response, for edge functions, service workers, Deno,
// Bun and (through node-http.ts) Node: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
// No Node built-ins may be imported from here (tests/handler-bundle.test.ts bundles it for a neutral platform).
import { DbllmError, invalidArgument } from "../errors.ts";
import type { Model } from "../model/model.ts";
import { isTokenId, outsideVocabulary } from "../tokenizer/index.ts";
import { readJsonBody } from "./body.ts";
import { errorResponse, HttpError, toHttpError } from "./errors.ts";
import { parseJob, randomId, type Endpoint, type JobLimits } from "./openai.ts";
import { respondJson, respondStream, type Outcome } from "./respond.ts";
import { Scheduler } from "./scheduler.ts";

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

interface Ready {
  model: Model;
  id: string;
  scheduler: Scheduler;
  limits: JobLimits;
  contextLength: number;
}

const DEFAULTS = { parallel: 1, maxQueue: 16, maxBodyBytes: 1 << 20, basePath: "/v1" };

/** The model id from a file name, path or URL: its last segment without extension. */
export function modelIdFromName(name: string): string {
  const last = name.replace(/[?#].*$/, "").replace(/[\\/]+$/, "").split(/[\\/]/).pop() || name;
  return last.replace(/\.(dbllm|gguf|safetensors|bin)$/i, "") || "dbllm";
}

function checkInt(name: string, v: number | undefined, lo: number, hi: number): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < lo || v > hi)) throw invalidArgument(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}

export function createHandler(provider: ModelProvider, options: HandlerOptions = {}): OpenAIHandler {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  checkInt("parallel", o.parallel, 1, 64);
  checkInt("maxQueue", o.maxQueue, 0, 1e6);
  checkInt("maxBodyBytes", o.maxBodyBytes, 1, 2 ** 31);
  checkInt("contextLength", o.contextLength, 1, 2 ** 24);
  checkInt("maxTokens", o.maxTokens, 1, 2 ** 31);
  const basePath = o.basePath.replace(/\/+$/, "");
  const created = Math.floor(Date.now() / 1000);
  const cors: Record<string, string> = o.cors ? { "access-control-allow-origin": o.cors === true ? "*" : o.cors, "access-control-expose-headers": "x-request-id" } : {};
  const counters = { requests: 0, generatedTokens: 0 };
  const running = new Set<{ abort: AbortController; ended: Promise<void> }>();
  let closing = false;
  let ready: Promise<Ready> | undefined;
  let loaded: Ready | undefined;

  const load = (): Promise<Ready> => (ready ??= (async () => {
    const model = await (typeof provider === "function" ? provider() : provider);
    const info = model.info();
    const contextLength = o.contextLength ?? info.contextLength;
    const scheduler = new Scheduler(() => model.createSession({ contextLength, onContextFull: "stop" }), o.parallel, o.maxQueue);
    const maxTokens = Math.min(o.maxTokens ?? contextLength, contextLength);
    loaded = { model, id: o.modelId ?? modelIdFromName(info.name), scheduler, contextLength, limits: { maxTokens, completionsDefaultMaxTokens: 16 } };
    return loaded;
  })().catch((e) => {
    if (!(e instanceof DbllmError && e.code === "UNSUPPORTED_ENVIRONMENT")) ready = undefined;
    throw e;
  }));
  if (typeof provider !== "function") void load().catch(() => {});

  const log = (entry: RequestLog) => { try { o.onRequest?.(entry); } catch { /* a logger must not break serving */ } };

  async function handle(request: Request): Promise<Response> {
    const t0 = now();
    const id = randomId();
    counters.requests++;
    const headers = { "x-request-id": id, ...cors };
    let path = "?";
    const done = (status: number, extra: Partial<RequestLog> = {}) => log({ id, method: request.method, path, status, ms: now() - t0, ...extra });
    const fail = (e: unknown) => {
      const err = toHttpError(e);
      done(err.status, { error: err.message });
      return errorResponse(err, headers);
    };
    try {
      path = new URL(request.url).pathname;
      const route = routeOf(path, basePath);
      if (request.method === "OPTIONS" && o.cors && route) {
        done(204);
        return new Response(null, { status: 204, headers: { ...headers, "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "authorization, content-type", "access-control-max-age": "86400" } });
      }
      if (!route) throw new HttpError(404, `unknown route ${request.method} ${path}; this server answers POST ${basePath}/chat/completions, POST ${basePath}/completions and GET ${basePath}/models`, "invalid_request_error", null, "unknown_route");
      if (request.method !== route.method) {
        throw new HttpError(405, `${path} expects ${route.method}, got ${request.method}`, "invalid_request_error", null, "method_not_allowed", { allow: route.method });
      }
      if (closing) throw shuttingDown();
      if (route.kind === "health") {
        const s = stats();
        done(200);
        const info = loaded?.model.info();
        return json({ status: "ok", model: loaded?.id ?? null, active: s.active, queued: s.queued, threads: info?.threads.count ?? null, wasmMemoryBytes: info?.wasmMemoryBytes ?? null }, headers);
      }
      const r = await load();
      if (route.kind === "models") { done(200); return json({ object: "list", data: [modelObject(r)] }, headers); }
      if (route.kind === "model") {
        const asked = safeDecode(route.id);
        if (asked !== r.id) throw modelNotFound(asked, r.id);
        done(200);
        return json(modelObject(r), headers);
      }
      return await generate(route.kind, request, r, id, headers, t0, path);
    } catch (e) {
      return fail(e);
    }
  }

  async function generate(endpoint: Endpoint, request: Request, r: Ready, id: string, headers: Record<string, string>, t0: number, path: string): Promise<Response> {
    const body = await readJsonBody(request, o.maxBodyBytes);
    const job = parseJob(endpoint, body, r.limits);
    job.options.parseSpecialTokens = o.parseSpecialTokens === true;
    if (job.model !== undefined && job.model !== r.id) throw modelNotFound(job.model, r.id);
    if (job.endpoint === "completions" && Array.isArray(job.prompt)) {
      const V = r.model.config.vocabSize;
      const bad = job.prompt.find((t) => !isTokenId(t, V));
      if (bad !== undefined) throw new HttpError(400, outsideVocabulary(bad, V), "invalid_request_error", "prompt", "invalid_value");
    }
    const echo = job.echo ? (typeof job.prompt === "string" ? job.prompt : r.model.tokenizer.decode(job.prompt!)) : "";

    // One abort for this request: the client going away (request.signal) or shutdown.
    const abort = new AbortController();
    const forward = () => abort.abort(request.signal.reason);
    if (request.signal.aborted) abort.abort(request.signal.reason);
    else request.signal.addEventListener("abort", forward, { once: true });
    let endRun!: () => void;
    const entry = { abort, ended: new Promise<void>((res) => (endRun = res)) };
    running.add(entry);
    const cleanup = () => { request.signal.removeEventListener("abort", forward); running.delete(entry); endRun(); };

    let lease;
    try {
      lease = await r.scheduler.acquire(abort.signal);
    } catch (e) {
      cleanup();
      throw e;
    }
    const onEnd = (out: Outcome) => {
      cleanup();
      const s = out.stats;
      log({
        id, method: request.method, path, status: out.status, ms: now() - t0, stream: job.stream, error: out.error,
        ...(s && {
          promptTokens: s.promptTokens, cachedPromptTokens: s.cachedPromptTokens, completionTokens: s.generatedTokens,
          tokensPerSecond: s.decodeTokensPerSecond, finishReason: s.stopReason,
        }),
      });
    };
    const ctx = { job, lease, modelId: r.id, signal: abort.signal, echo, headers, onToken: () => { counters.generatedTokens++; }, onEnd };
    return job.stream ? respondStream(ctx) : respondJson(ctx);
  }

  function stats(): HandlerStats {
    return { ...counters, active: loaded?.scheduler.active ?? 0, queued: loaded?.scheduler.queued ?? 0 };
  }

  async function close(): Promise<void> {
    closing = true;
    loaded?.scheduler.rejectWaiting(shuttingDown());
    for (const r of running) r.abort.abort(new DbllmError("ABORTED", "the server is shutting down"));
    await Promise.all([...running].map((r) => r.ended));
    loaded?.scheduler.dispose();
  }

  const handler = ((request: Request) => handle(request)) as OpenAIHandler;
  handler.stats = stats;
  handler.close = close;
  return handler;

  function modelObject(r: Ready) {
    return { id: r.id, object: "model", created, owned_by: "dbllm", context_length: r.contextLength };
  }
}

type Route = { method: "GET" | "POST"; kind: Endpoint | "models" | "model" | "health"; id?: string };

function routeOf(path: string, basePath: string): (Route & { id: string }) | undefined {
  const p = path.replace(/\/+$/, "") || "/";
  if (p === "/health" || p === `${basePath}/health`) return { method: "GET", kind: "health", id: "" };
  if (!p.startsWith(basePath + "/")) return undefined;
  const rest = p.slice(basePath.length);
  if (rest === "/chat/completions") return { method: "POST", kind: "chat", id: "" };
  if (rest === "/completions") return { method: "POST", kind: "completions", id: "" };
  if (rest === "/models") return { method: "GET", kind: "models", id: "" };
  const m = /^\/models\/(.+)$/.exec(rest);
  if (m) return { method: "GET", kind: "model", id: m[1] };
  return undefined;
}

const modelNotFound = (asked: string, id: string) =>
  new HttpError(404, `the model "${asked}" does not exist; this server serves "${id}"`, "invalid_request_error", "model", "model_not_found");

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

const shuttingDown = () => new HttpError(503, "the server is shutting down", "server_error", null, "shutting_down");

function json(value: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(value), { status: 200, headers: { "content-type": "application/json", ...headers } });
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

function stripUndefined<T extends object>(v: T): Partial<T> {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Partial<T>;
}
