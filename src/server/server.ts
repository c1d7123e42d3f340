// What stands behind one handler: the model (loaded on first use when given as a function), its scheduler of
// session slots, the requests running now, counters, and the request flow — route, answer what needs no model,
// lease a slot for a generation, log every request once when it has ended.
import { DbllmError } from "../errors.ts";
import type { ModelApi as Model } from "../model/model-api.ts";
import { isTokenId, outsideVocabulary } from "../tokenizer/index.ts";
import { readJsonBody } from "./body.ts";
import { errorResponse, HttpError, toHttpError } from "./errors.ts";
import { parseJob, randomId, type Endpoint, type JobLimits } from "./openai.ts";
import { respondJson, respondStream, type Outcome } from "./respond.ts";
import { json, modelNotFound, routeOf, safeDecode, shuttingDown } from "./routes.ts";
import { Scheduler } from "./scheduler.ts";
import type { HandlerOptions, HandlerStats, ModelProvider, RequestLog } from "./types.ts";

/** The options with their defaults filled in. */
export type ResolvedHandlerOptions = HandlerOptions & { parallel: number; maxQueue: number; maxBodyBytes: number; basePath: string };

interface Ready {
  model: Model;
  id: string;
  scheduler: Scheduler;
  limits: JobLimits;
  contextLength: number;
}

/** A request being served: aborted by the client going away or by shutdown; `ended` resolves once it is over. */
interface Run { abort: AbortController; ended: Promise<void> }

/** The model id from a file name, path or URL: its last segment without extension. */
export function modelIdFromName(name: string): string {
  const last = name.replace(/[?#].*$/, "").replace(/[\\/]+$/, "").split(/[\\/]/).pop() || name;
  return last.replace(/\.(dbllm|gguf|safetensors|bin)$/i, "") || "dbllm";
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

export class OpenAIServer {
  private readonly counters = { requests: 0, generatedTokens: 0 };
  private readonly running = new Set<Run>();
  private readonly basePath: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly cors: Record<string, string>;
  private closing = false;
  private ready: Promise<Ready> | undefined;
  private loaded: Ready | undefined;

  constructor(private readonly provider: ModelProvider, private readonly o: ResolvedHandlerOptions) {
    this.basePath = o.basePath.replace(/\/+$/, "");
    this.cors = o.cors ? { "access-control-allow-origin": o.cors === true ? "*" : o.cors, "access-control-expose-headers": "x-request-id" } : {};
    if (typeof provider !== "function") void this.load().catch(() => {});
  }

  /** The model and its slots, loaded once; a failed load is retried, except where the runtime cannot run dbllm. */
  private load(): Promise<Ready> {
    return (this.ready ??= (async () => {
      const p = this.provider, o = this.o;
      const model = await (typeof p === "function" ? p() : p);
      const info = model.info();
      const contextLength = o.contextLength ?? info.contextLength;
      const scheduler = new Scheduler(() => model.createSession({ contextLength, onContextFull: "stop" }), o.parallel, o.maxQueue);
      const maxTokens = Math.min(o.maxTokens ?? contextLength, contextLength);
      this.loaded = { model, id: o.modelId ?? modelIdFromName(info.name), scheduler, contextLength, limits: { maxTokens, completionsDefaultMaxTokens: 16 } };
      return this.loaded;
    })().catch((e) => {
      if (!(e instanceof DbllmError && e.code === "UNSUPPORTED_ENVIRONMENT")) this.ready = undefined;
      throw e;
    }));
  }

  private log(entry: RequestLog): void {
    try { this.o.onRequest?.(entry); } catch { /* a logger must not break serving */ }
  }

  async handle(request: Request): Promise<Response> {
    const t0 = now(), id = randomId();
    this.counters.requests++;
    const headers = { "x-request-id": id, ...this.cors };
    let path = "?";
    const done = (status: number, extra: Partial<RequestLog> = {}) => this.log({ id, method: request.method, path, status, ms: now() - t0, ...extra });
    try {
      path = new URL(request.url).pathname;
      const route = routeOf(path, this.basePath);
      if (request.method === "OPTIONS" && this.o.cors && route) {
        done(204);
        return new Response(null, { status: 204, headers: { ...headers, "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "authorization, content-type", "access-control-max-age": "86400" } });
      }
      const base = this.basePath;
      if (!route) throw new HttpError(404, `unknown route ${request.method} ${path}; this server answers POST ${base}/chat/completions, POST ${base}/completions and GET ${base}/models`, "invalid_request_error", null, "unknown_route");
      if (request.method !== route.method) {
        throw new HttpError(405, `${path} expects ${route.method}, got ${request.method}`, "invalid_request_error", null, "method_not_allowed", { allow: route.method });
      }
      if (this.closing) throw shuttingDown();
      if (route.kind === "health") { done(200); return json(this.health(), headers); }
      const r = await this.load();
      if (route.kind === "models") { done(200); return json({ object: "list", data: [this.modelObject(r)] }, headers); }
      if (route.kind === "model") {
        const asked = safeDecode(route.id);
        if (asked !== r.id) throw modelNotFound(asked, r.id);
        done(200);
        return json(this.modelObject(r), headers);
      }
      return await this.generate(route.kind, request, r, { id, headers, t0, path });
    } catch (e) {
      const err = toHttpError(e);
      done(err.status, { error: err.message });
      return errorResponse(err, headers);
    }
  }

  private health() {
    const s = this.stats(), info = this.loaded?.model.info();
    return { status: "ok", model: this.loaded?.id ?? null, active: s.active, queued: s.queued, threads: info?.threads.count ?? null, wasmMemoryBytes: info?.wasmMemoryBytes ?? null };
  }

  private modelObject(r: Ready) {
    return { id: r.id, object: "model", created: this.created, owned_by: "dbllm", context_length: r.contextLength };
  }

  private async generate(endpoint: Endpoint, request: Request, r: Ready, req: { id: string; headers: Record<string, string>; t0: number; path: string }): Promise<Response> {
    const job = parseJob(endpoint, await readJsonBody(request, this.o.maxBodyBytes), r.limits);
    job.options.parseSpecialTokens = this.o.parseSpecialTokens === true;
    if (job.model !== undefined && job.model !== r.id) throw modelNotFound(job.model, r.id);
    if (job.endpoint === "completions" && Array.isArray(job.prompt)) {
      const V = r.model.config.vocabSize;
      const bad = job.prompt.find((t) => !isTokenId(t, V));
      if (bad !== undefined) throw new HttpError(400, outsideVocabulary(bad, V), "invalid_request_error", "prompt", "invalid_value");
    }
    const echo = job.echo ? (typeof job.prompt === "string" ? job.prompt : r.model.tokenizer.decode(job.prompt!)) : "";
    const { abort, cleanup } = this.track(request);
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
      this.log({
        id: req.id, method: request.method, path: req.path, status: out.status, ms: now() - req.t0, stream: job.stream, error: out.error,
        ...(s && {
          promptTokens: s.promptTokens, cachedPromptTokens: s.cachedPromptTokens, completionTokens: s.generatedTokens,
          tokensPerSecond: s.decodeTokensPerSecond, finishReason: s.stopReason,
        }),
      });
    };
    const ctx = { job, lease, modelId: r.id, signal: abort.signal, echo, headers: req.headers, onToken: () => { this.counters.generatedTokens++; }, onEnd };
    return job.stream ? respondStream(ctx) : respondJson(ctx);
  }

  /** One abort for a request — the client going away (request.signal) or shutdown — and what ends its run. */
  private track(request: Request): { abort: AbortController; cleanup: () => void } {
    const abort = new AbortController();
    const forward = () => abort.abort(request.signal.reason);
    if (request.signal.aborted) abort.abort(request.signal.reason);
    else request.signal.addEventListener("abort", forward, { once: true });
    let endRun!: () => void;
    const run: Run = { abort, ended: new Promise<void>((res) => (endRun = res)) };
    this.running.add(run);
    return { abort, cleanup: () => { request.signal.removeEventListener("abort", forward); this.running.delete(run); endRun(); } };
  }

  stats(): HandlerStats {
    return { ...this.counters, active: this.loaded?.scheduler.active ?? 0, queued: this.loaded?.scheduler.queued ?? 0 };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.loaded?.scheduler.rejectWaiting(shuttingDown());
    for (const r of this.running) r.abort.abort(new DbllmError("ABORTED", "the server is shutting down"));
    await Promise.all([...this.running].map((r) => r.ended));
    this.loaded?.scheduler.dispose();
  }
}
