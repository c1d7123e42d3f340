// What the loader needs from its host environment. Node implements all of it (platform/node.ts); browsers
// and edge runtimes have no file system, so paths there are URLs (platform/web.ts).
import type { ByteSource } from "../bytes/source.ts";

/** A started worker running src/engine/pool-worker.ts. */
export interface WorkerHandle {
  postMessage(message: unknown): void;
  onMessage(cb: (message: unknown) => void): void;
  onError(cb: (error: Error) => void): void;
  /** Lets the process exit while this worker idles (Node); a no-op in browsers. */
  unref(): void;
  terminate(): void;
}

/** loadModel's options for URL sources. */
export interface UrlOpenOptions {
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Model cache (browsers): true = the first supported storage, false = none, or one storage by name. */
  cache?: boolean | "cache-api" | "opfs";
}

export interface Platform {
  readonly name: "node" | "web";
  /** True when `s` names a local path (rather than a URL) on this platform. */
  isLocalPath(s: string): boolean;
  openFile(path: string): Promise<ByteSource>;
  /** Opens a URL as one forward-only download (browsers: through the model cache in src/storage/). */
  openUrl(url: string, options: UrlOpenOptions): Promise<ByteSource>;
  isDirectory(path: string): Promise<boolean>;
  readText(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  join(dir: string, name: string): string;
  /** Logical CPU count (for thread defaults). */
  cpuCount(): number;
  /** CPUs this process may use per period under a container's CPU quota (cgroups), where one is visible. */
  cpuQuota(): number | undefined;
  /** Whether threads can run here, and why not when they cannot. */
  threadSupport(): { ok: true } | { ok: false; reason: string };
  /** Starts a pool worker. */
  createWorker(): Promise<WorkerHandle>;
  /** Inside a pool worker: the channel to the thread that started it. */
  parentPort(): Promise<{ postMessage(m: unknown): void; once(cb: (m: unknown) => void): void }>;
  /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
  readonly canBlock: boolean;
}
