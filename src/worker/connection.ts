// The page's end of a model worker: starts model-worker.js (next to this bundle; from a CDN through a same-origin
// blob: module, as the pool's workers), routes the worker's messages to whoever waits for them by id, lends
// streams and runs fetches for it, and fails everything in flight when the worker dies or is disposed.
import { DbllmError } from "../errors.ts";
import { startModuleWorker } from "../platform/web-worker.ts";
import { FetchServer } from "./fetch-bridge.ts";
import type { FromWorker, ToWorker, WireState } from "./protocol.ts";
import { StreamLender } from "./stream-bridge.ts";

/** Messages that answer a request: they carry its id. */
export type Answer = Extract<FromWorker, { id: number }>;

export class WorkerConnection {
  readonly lender: StreamLender;
  /** Set once the worker is gone (terminated, crashed): every later request fails with it. */
  private failure: DbllmError | undefined;
  private nextId = 1;
  private readonly open = new Map<number, (m: Answer) => void>();
  private fetches: FetchServer | undefined;
  /** Called with the state that comes with an operation's end (session tokens, info()). */
  onState: (s: WireState) => void = () => {};

  private constructor(private readonly worker: Worker) {
    this.lender = new StreamLender((m, transfer) => this.send(m, transfer));
    worker.addEventListener("message", (e: MessageEvent<FromWorker>) => this.receive(e.data));
    worker.addEventListener("error", (e) => {
      e.preventDefault();
      this.fail(new DbllmError("WORKER_FAILED", `the model worker failed: ${e.message || "an uncaught error"}`));
    });
    worker.addEventListener("messageerror", () => this.fail(new DbllmError("WORKER_FAILED", "the model worker sent a message the page could not read")));
  }

  /** Starts the worker and waits for it to say it is ready; WORKER_FAILED when it cannot start, ABORTED on `signal`. */
  static start(signal?: AbortSignal): Promise<WorkerConnection> {
    return new Promise((resolve, reject) => {
      let w: Worker;
      try {
        w = startModuleWorker(new URL("./model-worker.js", import.meta.url), () => new Worker(new URL("./model-worker.js", import.meta.url), { type: "module", name: "dbllm-model" }), { name: "dbllm-model" });
      } catch (e) {
        return reject(new DbllmError("WORKER_FAILED", `the model worker could not be created: ${(e as Error).message}`, { cause: e }));
      }
      const settle = () => {
        w.removeEventListener("message", started);
        w.removeEventListener("error", failed);
        signal?.removeEventListener("abort", aborted);
      };
      const started = (e: MessageEvent<FromWorker>) => {
        if (e.data?.type !== "ready") return;
        settle();
        resolve(new WorkerConnection(w));
      };
      const aborted = () => {
        settle();
        w.terminate();
        reject(new DbllmError("ABORTED", "the operation was aborted", { cause: signal!.reason }));
      };
      const failed = (e: ErrorEvent) => {
        settle();
        e.preventDefault();
        w.terminate();
        // the browser says little about a script that did not load (404, a MIME type, CORS): say where it was
        const where = new URL("./model-worker.js", import.meta.url).href;
        reject(new DbllmError("WORKER_FAILED", `the model worker failed to start${e.message ? ` (${e.message})` : ""}: is ${where} served next to the bundle? (see docs/BROWSER.md)`));
      };
      w.addEventListener("message", started);
      w.addEventListener("error", failed);
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  /** Sends a request; a value that cannot be cloned (a function in templateVariables) is INVALID_ARGUMENT. */
  post(m: ToWorker, transfer: Transferable[] = []): void {
    this.check();
    try {
      this.worker.postMessage(m, transfer);
    } catch (e) {
      throw new DbllmError("INVALID_ARGUMENT", `could not send the ${m.type} request to the model worker: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Answers the worker's own requests (bytes, responses): dropped once the worker is gone. */
  private send(m: ToWorker, transfer: Transferable[] = []): void {
    if (!this.failure) this.worker.postMessage(m, transfer);
  }

  /** A new request id whose answers go to `handler` until close(id). */
  request(handler: (m: Answer) => void): number {
    this.check();
    const id = this.nextId++;
    this.open.set(id, handler);
    return id;
  }

  close(id: number): void {
    this.open.delete(id);
  }

  /** Serves the worker's fetches with the page's `fetch` option. */
  serveFetches(fetchImpl: typeof fetch): void {
    this.fetches = new FetchServer(fetchImpl, this.lender, (m) => this.send(m));
  }

  /** Throws what ended the worker, if it has ended. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  get alive(): boolean {
    return !this.failure;
  }

  /** Ends the worker (and the pool workers it started): everything in flight fails with `why`. */
  terminate(why: DbllmError): void {
    this.worker.terminate();
    this.fail(why);
  }

  private fail(why: DbllmError): void {
    if (this.failure) return;
    this.failure = why;
    this.lender.cancelAll();
    const open = [...this.open];
    this.open.clear();
    for (const [id, handler] of open) handler({ type: "failed", id, error: { name: why.name, message: why.message, code: why.code } });
  }

  private receive(m: FromWorker): void {
    switch (m.type) {
      case "ready": return;
      case "pull": void this.lender.pull(m.stream); return;
      case "cancel": this.lender.cancel(m.stream); return;
      case "fetch":
        if (this.fetches) void this.fetches.serve(m.fetch, m.request);
        else this.send({ type: "response", fetch: m.fetch, error: { name: "Error", message: "no fetch to serve it" } });
        return;
      case "fetch-abort": this.fetches?.abort(m.fetch); return;
      default:
        if ("state" in m && m.state) this.onState(m.state);
        this.open.get(m.id)?.(m);
    }
  }
}
