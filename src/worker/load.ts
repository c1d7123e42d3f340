// loadModel, wherever the model goes (placement.ts): on this thread, Model.load; in a worker, the page sends the
// source and options over and gets a WorkerModel back. A worker that cannot start at all (model-worker.js not
// served next to the bundle) leaves the model on the page, loudly, unless `worker: true` insisted on one.
import { DbllmError, invalidArgument, throwIfAborted } from "../errors.ts";
import { checkLoadOptions, type LoadOptions } from "../model/load-options.ts";
import type { ModelApi } from "../model/model-api.ts";
import { Model, type Placement } from "../model/model.ts";
import { describeResponse, unknownSource } from "../open/open-model.ts";
import type { ModelSource } from "../open/types.ts";
import { WorkerConnection } from "./connection.ts";
import { errorFromWire, type WireLoadOptions, type WireSource } from "./protocol.ts";
import { placement } from "./placement.ts";
import { WorkerModel } from "./worker-model.ts";

/** After an abort, how long the worker has to wind its load down (close downloads, drop cache writes) before it is terminated. */
const ABORT_GRACE_MS = 2000;

export async function loadModelPlaced(source: ModelSource, options: LoadOptions = {}): Promise<ModelApi> {
  throwIfAborted(options.signal);
  checkLoadOptions(options); // every option, before a worker starts or a byte is read
  const where = placement(options.worker);
  if (!where.worker) return Model.load(source, options, where);
  let conn: WorkerConnection;
  try {
    conn = await WorkerConnection.start(options.signal);
  } catch (e) {
    if (options.worker === true || (e as DbllmError).code === "ABORTED") throw e;
    const reason = `the calling thread: ${(e as Error).message}`;
    console.warn(`dbllm: ${reason}; the model computes on the page's main thread`);
    return Model.load(source, options, { worker: false, reason });
  }
  try {
    return await loadInWorker(conn, source, options, where);
  } catch (e) {
    conn.terminate(e instanceof DbllmError ? e : new DbllmError("WORKER_FAILED", "the model worker's load failed"));
    throw e;
  }
}

function loadInWorker(conn: WorkerConnection, source: ModelSource, options: LoadOptions, runsIn: Placement): Promise<WorkerModel> {
  const wire = wireSource(conn, source);
  if (options.fetch) conn.serveFetches(options.fetch);
  const { onProgress, signal, fetch: _fetch, worker: _worker, ...rest } = options;
  const wireOptions: WireLoadOptions = { ...rest, progress: !!onProgress, fetch: !!options.fetch };
  return new Promise<WorkerModel>((resolve, reject) => {
    let pageFailure: { error: unknown } | undefined; // onProgress threw: the load fails with that
    let grace: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      if (!conn.alive) return;
      conn.post({ type: "abort", id });
      grace ??= setTimeout(() => conn.terminate(new DbllmError("ABORTED", "the operation was aborted", { cause: signal?.reason })), ABORT_GRACE_MS);
    };
    const finish = () => {
      conn.close(id);
      signal?.removeEventListener("abort", stop);
      clearTimeout(grace);
    };
    const id = conn.request((m) => {
      if (m.type === "progress") {
        if (pageFailure) return;
        try { onProgress?.(m.progress); } catch (e) { pageFailure = { error: e }; stop(); }
      } else if (m.type === "loaded") {
        finish();
        resolve(new WorkerModel(conn, m.info, m.tokenizer));
      } else if (m.type === "failed") {
        finish();
        reject(pageFailure ? pageFailure.error : errorFromWire(m.error, m.error.code === "ABORTED" ? signal?.reason : undefined));
      }
    });
    signal?.addEventListener("abort", stop, { once: true });
    try {
      conn.post({ type: "load", id, source: wire, options: wireOptions, runsIn });
    } catch (e) {
      finish();
      reject(e);
    }
  });
}

/** The source as it crosses: URLs resolved against the page, Blobs shared, streams and buffers lent. */
function wireSource(conn: WorkerConnection, source: ModelSource): WireSource {
  if (typeof source === "string" || source instanceof URL) {
    // relative to the page, as the page's fetch would take it (the worker's base URL is its script's)
    const base = (globalThis as { location?: { href: string } }).location?.href;
    try { return { kind: "url", url: new URL(String(source), base).href }; } catch { throw invalidArgument(`not a URL: ${String(source)}`); }
  }
  if (typeof Blob !== "undefined" && source instanceof Blob) return { kind: "blob", blob: source };
  if (typeof Response !== "undefined" && source instanceof Response) {
    const { name, size } = describeResponse(source);
    return { kind: "stream", stream: conn.lender.lendStream(source.body!, true), name, size };
  }
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) return { kind: "stream", stream: conn.lender.lendStream(source, false), name: "stream", size: undefined };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { kind: "stream", stream: conn.lender.lendBytes(bytes), name: "buffer", size: bytes.byteLength };
  }
  throw unknownSource();
}
