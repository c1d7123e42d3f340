// loadModel's `fetch` option is a function on the page; the model worker's downloads (and the cache's HEAD
// requests) call it through messages: the worker sends the request, the page runs its fetch and answers with the
// status and headers, and lends the body (stream-bridge.ts). An abort in the worker aborts the page's fetch.
import { errorFromWire, errorToWire, type FromWorker, type ToWorker, type WireRequest } from "./protocol.ts";
import type { StreamBorrower, StreamLender } from "./stream-bridge.ts";

type Response_ = Extract<ToWorker, { type: "response" }>;

/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** The page's side: runs the worker's requests through the caller's fetch. */
export class FetchServer {
  private readonly running = new Map<number, AbortController>();

  constructor(private readonly fetchImpl: typeof fetch, private readonly lender: StreamLender, private readonly post: (m: ToWorker) => void) {}

  async serve(id: number, r: WireRequest): Promise<void> {
    const controller = new AbortController();
    this.running.set(id, controller);
    try {
      const res = await this.fetchImpl(r.url, {
        method: r.method, headers: r.headers, cache: r.cache, credentials: r.credentials, redirect: r.redirect, signal: controller.signal,
      });
      const body = res.body ? this.lender.lendStream(res.body, true) : null;
      this.post({ type: "response", fetch: id, status: res.status, statusText: res.statusText, headers: [...res.headers], body });
    } catch (e) {
      this.post({ type: "response", fetch: id, error: errorToWire(e) });
    } finally {
      this.running.delete(id);
    }
  }

  abort(id: number): void {
    this.running.get(id)?.abort();
  }
}

/** The worker's side: a fetch whose requests the page runs. */
export class FetchClient {
  private next = 1;
  private readonly waiting = new Map<number, (m: Response_) => void>();

  constructor(private readonly post: (m: FromWorker) => void, private readonly borrower: StreamBorrower) {}

  readonly fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const request: WireRequest = {
      url, method: init.method ?? (input instanceof Request ? input.method : "GET"), headers: [...new Headers(init.headers)],
      cache: init.cache, credentials: init.credentials, redirect: init.redirect,
    };
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const id = this.next++;
    const answer = new Promise<Response_>((resolve, reject) => {
      this.waiting.set(id, resolve);
      signal?.addEventListener("abort", () => {
        this.waiting.delete(id);
        this.post({ type: "fetch-abort", fetch: id });
        reject(signal.reason);
      }, { once: true });
    });
    this.post({ type: "fetch", fetch: id, request });
    const m = await answer;
    if (m.error) throw errorFromWire(m.error);
    const status = m.status ?? 0;
    if (status < 200 || status > 599) throw new TypeError(`the page's fetch answered ${url} with status ${status} (an opaque or unusable response)`);
    const lent = m.body ?? undefined;
    if (lent !== undefined && NULL_BODY.has(status)) this.post({ type: "cancel", stream: lent });
    const body = lent === undefined || NULL_BODY.has(status) ? null : this.borrower.borrow(lent);
    // an abort while the body streams: the page's fetch was aborted (fetch-abort); let go of its body there too
    if (body && signal) signal.addEventListener("abort", () => this.post({ type: "cancel", stream: lent! }), { once: true });
    const res = new Response(body, { status, statusText: m.statusText, headers: m.headers });
    Object.defineProperty(res, "url", { value: url });
    return res;
  };

  /** A `response` message from the page. */
  deliver(m: Response_): void {
    const answer = this.waiting.get(m.fetch);
    this.waiting.delete(m.fetch);
    answer?.(m);
  }
}
