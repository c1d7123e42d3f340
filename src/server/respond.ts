// Running one validated job on a leased session and turning it into a Response: a `chat.completion` /
// `text_completion` JSON object, or a server-sent-event stream of chunks ending with `data: [DONE]`.
//
// Streams are pull-based: the next token is generated when the consumer reads the previous event, so a slow
// client slows its own generation instead of filling memory. Whatever ends a request — the last token, an
// error, the consumer cancelling the body, or the abort signal (client disconnect, shutdown) — runs `end()`
// once, which stops the generator (releasing the session's lock) before the slot goes back to the scheduler.
import { DbllmError } from "../errors.ts";
import type { GenerationChunk, GenerationResult, GenerationStats } from "../generate/options.ts";
import type { GenerationStream } from "../generate/stream.ts";
import { errorBody, errorResponse, toHttpError, type HttpError } from "./errors.ts";
import { finishReason, Replies, type Job } from "./openai.ts";
import type { Lease } from "./scheduler.ts";

/** How a request ended, for the log. */
export interface Outcome {
  status: number;
  stats?: GenerationStats;
  error?: string;
}

export interface RunContext {
  job: Job;
  lease: Lease;
  modelId: string;
  /** Fires on client disconnect or shutdown. */
  signal: AbortSignal;
  /** Text the answer starts with (completions with echo). */
  echo: string;
  headers: Record<string, string>;
  /** Called for every generated token (the handler's counter). */
  onToken(): void;
  /** Called once when the request has ended and its slot is free again. */
  onEnd(outcome: Outcome): void;
}

type Iter = AsyncIterator<GenerationChunk, GenerationResult>;

/** Starts the generation, or answers with the error when the runtime rejects the options at once. */
function start(c: RunContext): Iter | Response {
  try {
    const options = { ...c.job.options, signal: c.signal };
    const stream: GenerationStream = c.job.messages ? c.lease.session.chat(c.job.messages, options) : c.lease.session.generate(c.job.prompt!, options);
    return stream[Symbol.asyncIterator]();
  } catch (e) {
    const err = failure(c, e);
    c.lease.release();
    c.onEnd({ status: err.status, error: err.message });
    return errorResponse(err, c.headers);
  }
}

/** Ends a request once: stops the generator, frees the slot, reports the outcome. */
function ender(c: RunContext, it: Iter): (o: Outcome) => Promise<void> {
  let ending: Promise<void> | undefined;
  return (o) => (ending ??= (async () => {
    try { await it.return?.(undefined as never); } catch { /* already failed: nothing to stop */ }
    c.lease.release();
    c.onEnd(o);
  })());
}

const paramOf = (job: Job) => (job.endpoint === "chat" ? "messages" : "prompt");

function failure(c: RunContext, e: unknown): HttpError {
  if (c.signal.aborted && !(e instanceof DbllmError && e.code !== "ABORTED")) return toHttpError(new DbllmError("ABORTED", "the request was aborted"));
  return toHttpError(e, paramOf(c.job));
}

export async function respondJson(c: RunContext): Promise<Response> {
  const it = start(c);
  if (it instanceof Response) return it;
  const end = ender(c, it);
  try {
    let r: IteratorResult<GenerationChunk, GenerationResult>;
    while (!(r = await it.next()).done) if (r.value.token >= 0) c.onToken();
    const result = r.value;
    await end({ status: 200, stats: result.stats });
    const body = new Replies(c.job.endpoint, c.modelId).complete(c.echo + result.text, result.stats);
    return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json", ...c.headers } });
  } catch (e) {
    const err = failure(c, e);
    await end({ status: err.status, error: err.message });
    return errorResponse(err, c.headers);
  }
}

export async function respondStream(c: RunContext): Promise<Response> {
  const it = start(c);
  if (it instanceof Response) return it;
  const end = ender(c, it);
  const replies = new Replies(c.job.endpoint, c.modelId, c.job.includeUsage);
  // Run up to the first token before answering, so that a prompt the runtime rejects (too long for the
  // context, a chat template error) still gets a proper 4xx status instead of a broken stream.
  let pending: IteratorResult<GenerationChunk, GenerationResult> | undefined;
  try {
    pending = await it.next();
  } catch (e) {
    const err = failure(c, e);
    await end({ status: err.status, error: err.message });
    return errorResponse(err, c.headers);
  }
  const encoder = new TextEncoder();
  const event = (data: unknown) => encoder.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  let opened = false;
  let closed = false;
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  // Disconnect or shutdown: stop generating now, even if nobody is reading the stream.
  const onAbort = () => { finish(ctrl); void end({ status: 499, error: "aborted (client disconnected or server shutting down)" }); };
  c.signal.addEventListener("abort", onAbort, { once: true });

  const body = new ReadableStream<Uint8Array>({
    start(controller) { ctrl = controller; },
    async pull(controller) {
      if (closed) return;
      try {
        // First event: the echoed prompt / the assistant role, so the client sees the stream open at once.
        if (!opened) {
          opened = true;
          if (c.job.endpoint === "chat") { controller.enqueue(event(replies.chunk("", null, true))); return; }
          if (c.echo) { controller.enqueue(event(replies.chunk(c.echo, null))); return; }
        }
        // Each pull enqueues at least one event (a pull that enqueues nothing would never be called again).
        for (;;) {
          const r = pending ?? (await it.next());
          pending = undefined;
          if (closed) return;
          if (r.done) {
            const stats = r.value.stats;
            controller.enqueue(event(replies.chunk(undefined, finishReason(stats.stopReason))));
            if (c.job.includeUsage) controller.enqueue(event(replies.usageChunk(stats)));
            controller.enqueue(event("[DONE]"));
            finish(controller);
            c.signal.removeEventListener("abort", onAbort);
            await end({ status: 200, stats });
            return;
          }
          if (r.value.token >= 0) c.onToken();
          if (r.value.text) { controller.enqueue(event(replies.chunk(r.value.text, null))); return; }
        }
      } catch (e) {
        if (closed) return;
        const err = failure(c, e);
        // Headers are sent: report the error as an event (the openai client raises it), then end the stream.
        if (err.status !== 499) try { controller.enqueue(event(errorBody(err))); } catch { /* consumer gone */ }
        finish(controller);
        c.signal.removeEventListener("abort", onAbort);
        await end({ status: err.status, error: err.message });
      }
    },
    async cancel() {
      closed = true;
      c.signal.removeEventListener("abort", onAbort);
      await end({ status: 499, error: "client disconnected" });
    },
  }, { highWaterMark: 0 });

  function finish(controller: ReadableStreamDefaultController<Uint8Array>) {
    closed = true;
    try { controller.close(); } catch { /* already closed or cancelled */ }
  }

  return new Response(body, {
    status: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no", ...c.headers },
  });
}
