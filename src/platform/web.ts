// Browser / edge implementation of the platform interface: there are no files, every string is a URL.
// URLs open through the model cache (src/storage/), on by default in browsers, off in edge runtimes.
import { DbllmError } from "../errors.ts";
import { openCachedUrl } from "../storage/cached-url.ts";
import type { Platform, WorkerHandle } from "./types.ts";
import { startModuleWorker } from "./web-worker.ts";

const g = globalThis as unknown as { crossOriginIsolated?: boolean; Worker?: typeof Worker; SharedArrayBuffer?: unknown; document?: unknown; WorkerGlobalScope?: unknown };
const isWindow = typeof g.document !== "undefined";

/** A browser (window or worker) has a storage manager; edge runtimes (Workers, Deno Deploy, Vercel Edge) do not. */
const isBrowser = typeof navigator !== "undefined" && typeof (navigator as { storage?: unknown }).storage === "object";

const noFs = (what: string) => new DbllmError("INVALID_ARGUMENT", `${what}: local paths and directories need Node; pass a URL, ArrayBuffer or Blob`);

export const platform: Platform = {
  name: "web",
  isLocalPath: () => false,
  openFile: async (p) => { throw noFs(p); },
  isDirectory: async () => false,
  readText: async (p) => { throw noFs(p); },
  exists: async () => false,
  openUrl: (url, options) => openCachedUrl(url, { ...options, cache: options.cache ?? isBrowser }),
  join: (dir, name) => `${dir.replace(/\/$/, "")}/${name}`,
  cpuCount: () => (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 1,
  cpuQuota: () => undefined,
  threadSupport() {
    if (typeof g.Worker !== "function") return { ok: false, reason: "this runtime has no Web Workers (edge function?)" };
    if (typeof g.SharedArrayBuffer === "undefined" || g.crossOriginIsolated === false) {
      return { ok: false, reason: "the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is unavailable" };
    }
    return { ok: true };
  },
  async createWorker(): Promise<WorkerHandle> {
    // pool-worker.js sits next to this bundle (see startModuleWorker for the literal `new Worker(new URL(…))`)
    const w = startModuleWorker(new URL("./pool-worker.js", import.meta.url), () => new Worker(new URL("./pool-worker.js", import.meta.url), { type: "module" }));
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (cb) => { w.addEventListener("message", (e) => cb(e.data)); },
      // handled here: a worker error left unhandled ends the process in Deno
      onError: (cb) => { w.addEventListener("error", (e) => { e.preventDefault(); cb(new Error(e.message)); }); },
      unref: () => {},
      terminate: () => w.terminate(),
    };
  },
  async parentPort() {
    const scope = globalThis as unknown as { postMessage(m: unknown): void; addEventListener(t: string, cb: (e: MessageEvent) => void, o?: object): void };
    return { postMessage: (m) => scope.postMessage(m), once: (cb) => scope.addEventListener("message", (e: MessageEvent) => cb(e.data), { once: true }) };
  },
  // a window's main thread may not Atomics.wait; workers may
  canBlock: !isWindow,
};
