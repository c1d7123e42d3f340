// The model worker (an esbuild entry of its own, dist/browser/model-worker.js): holds the real Model for a page
// and answers the page's requests (protocol.ts). Its pool workers, if the model runs on several threads, start
// from here; unlike a window, this thread may block in Atomics.wait while they compute.
import type { LoadOptions } from "../model/load-options.ts";
import { Model } from "../model/model.ts";
import type { Session } from "../model/session.ts";
import type { ModelSource } from "../open/types.ts";
import { FetchClient } from "./fetch-bridge.ts";
import { errorToWire, type FromWorker, type ToWorker, type WireSource, type WireState } from "./protocol.ts";
import { StreamBorrower } from "./stream-bridge.ts";

const scope = globalThis as unknown as {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", cb: (e: MessageEvent<ToWorker>) => void): void;
};
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

const borrower = new StreamBorrower(post);
const fetches = new FetchClient(post, borrower);
let model: Model | undefined;
/** Sessions by the page's numbers; a session that failed to be created keeps its error for its first use. */
const sessions = new Map<number, Session | { failed: unknown }>();
/** Loads and generations in progress, by request id. */
const running = new Map<number, AbortController>();

scope.addEventListener("message", (e) => handle(e.data));
post({ type: "ready" });

function handle(m: ToWorker): void {
  switch (m.type) {
    case "load": void load(m); return;
    case "session":
      try { sessions.set(m.session, loaded().createSession(m.options)); } catch (e) { sessions.set(m.session, { failed: e }); }
      return;
    case "generate": case "chat": void generate(m); return;
    case "evaluate": void evaluate(m); return;
    case "reset": session(m.session, false)?.reset(); return;
    case "dispose-session": session(m.session, false)?.dispose(); return;
    case "abort": running.get(m.id)?.abort(); return;
    case "bytes": borrower.deliver(m); return;
    case "response": fetches.deliver(m); return;
  }
}

async function load(m: Extract<ToWorker, { type: "load" }>): Promise<void> {
  const controller = new AbortController();
  running.set(m.id, controller);
  try {
    const { progress, fetch, ...options } = m.options;
    const o: LoadOptions = {
      ...options,
      signal: controller.signal,
      onProgress: progress ? (p) => post({ type: "progress", id: m.id, progress: p }) : undefined,
      fetch: fetch ? fetches.fetch : undefined,
    };
    model = await Model.load(source(m.source), o, m.runsIn);
    post({ type: "loaded", id: m.id, info: model.info(), tokenizer: model.tokenizer.serialize() });
  } catch (e) {
    post({ type: "failed", id: m.id, error: errorToWire(e) });
  } finally {
    running.delete(m.id);
  }
}

function source(w: WireSource): ModelSource {
  if (w.kind === "url") return w.url;
  if (w.kind === "blob") return w.blob;
  // as a Response, so that the loader names and sizes it as it would have on the page
  const res = new Response(borrower.borrow(w.stream), { headers: w.size === undefined ? {} : { "content-length": String(w.size) } });
  Object.defineProperty(res, "url", { value: w.name });
  return res;
}

async function generate(m: Extract<ToWorker, { type: "generate" | "chat" }>): Promise<void> {
  const controller = new AbortController();
  running.set(m.id, controller);
  try {
    const target = m.session === 0 ? loaded() : session(m.session, true)!;
    const options = { ...m.options, signal: controller.signal };
    const stream = m.type === "chat" ? target.chat(m.messages, options) : target.generate(m.prompt, options);
    for await (const chunk of stream) post({ type: "chunk", id: m.id, chunk });
    post({ type: "done", id: m.id, result: await stream.done(), state: state(m.session)! });
  } catch (e) {
    post({ type: "failed", id: m.id, error: errorToWire(e), state: state(m.session) });
  } finally {
    running.delete(m.id);
  }
}

async function evaluate(m: Extract<ToWorker, { type: "evaluate" }>): Promise<void> {
  try {
    const logits = await session(m.session, true)!.evaluate(m.ids);
    // the logits are a fresh array: moved, not copied (a view into more, or into shared memory, is copied)
    const own = logits.buffer instanceof ArrayBuffer && logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength;
    post({ type: "logits", id: m.id, logits, state: state(m.session)! }, own ? [logits.buffer as ArrayBuffer] : []);
  } catch (e) {
    post({ type: "failed", id: m.id, error: errorToWire(e), state: state(m.session) });
  }
}

function loaded(): Model {
  if (!model) throw new Error("the model worker has no model (a request came before the load)");
  return model;
}

/** The session the page numbered `id`; with `required`, its creation error is thrown here. */
function session(id: number, required: boolean): Session | undefined {
  const s = sessions.get(id);
  if (s && "failed" in s) {
    if (required) throw s.failed;
    return undefined;
  }
  if (!s && required) throw new Error(`the model worker has no session ${id}`);
  return s;
}

/** What the page mirrors after an operation: the session's tokens, info(). */
function state(id: number): WireState | undefined {
  if (!model) return undefined;
  const s = id === 0 ? undefined : sessions.get(id);
  return { session: id, tokens: s && !("failed" in s) ? [...s.tokens] : undefined, info: model.info() };
}
