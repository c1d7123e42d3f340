// A generation that runs in the model worker, seen from the page as the same GenerationStream a Model returns:
// lazy (the request goes out when the stream is first iterated or awaited), chunk by chunk, with the result and
// stats at the end. An AbortSignal ends it on the page at once (ABORTED, the signal's reason as the cause) and
// tells the worker to stop; so does leaving the loop early.
import { DbllmError, throwIfAborted } from "../errors.ts";
import type { GenerationChunk, GenerationResult } from "../generate/options.ts";
import { GenerationStream } from "../generate/stream.ts";
import type { Answer, WorkerConnection } from "./connection.ts";
import { errorFromWire, type ToWorker } from "./protocol.ts";

/** Messages in arrival order, awaited one at a time. */
class Inbox<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
    this.wake = undefined;
  }

  async next(): Promise<T> {
    while (this.items.length === 0) await new Promise<void>((r) => (this.wake = r));
    return this.items.shift()!;
  }
}

const ABORTED = Symbol("aborted");

/** `request(id)` is the generate or chat message to send, under the id the stream was given. */
export function remoteGeneration(conn: WorkerConnection, request: (id: number) => ToWorker, signal: AbortSignal | undefined): GenerationStream {
  return new GenerationStream(async function* (): AsyncGenerator<GenerationChunk, GenerationResult> {
    throwIfAborted(signal);
    const inbox = new Inbox<Answer | typeof ABORTED>();
    const id = conn.request((m) => inbox.push(m));
    const onAbort = () => inbox.push(ABORTED);
    signal?.addEventListener("abort", onAbort, { once: true });
    let ended = false;
    try {
      conn.post(request(id));
      for (;;) {
        const m = await inbox.next();
        if (m === ABORTED) throw new DbllmError("ABORTED", "the operation was aborted", { cause: signal!.reason });
        if (m.type === "chunk") yield m.chunk;
        else if (m.type === "done") { ended = true; return m.result; }
        else if (m.type === "failed") { ended = true; throw errorFromWire(m.error, m.error.code === "ABORTED" ? signal?.reason : undefined); }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      conn.close(id);
      // aborted, abandoned or broken off: the worker stops generating (its session is then free for the next call)
      if (!ended && conn.alive) conn.post({ type: "abort", id });
    }
  });
}

/** A request answered once: `logits` for evaluate. */
export function remoteLogits(conn: WorkerConnection, request: (id: number) => ToWorker): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const id = conn.request((m) => {
      conn.close(id);
      if (m.type === "logits") resolve(m.logits);
      else if (m.type === "failed") reject(errorFromWire(m.error));
    });
    try {
      conn.post(request(id));
    } catch (e) {
      conn.close(id);
      reject(e);
    }
  });
}
