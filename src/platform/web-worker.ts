// Starting one of dbllm's module workers (pool-worker.js, model-worker.js) from the script next to the bundle.
// Callers write `new Worker(new URL("./x.js", import.meta.url), { type: "module" })` themselves, literally, so
// that bundlers (webpack 5, Vite/Rollup) see the worker and emit it. Browsers refuse a worker script from another
// origin (the bundle imported from a CDN): a same-origin blob: module then imports it (the CDN sends CORS).

/**
 * `direct()` when `url` is on this global's origin (or where there is no origin to compare), else a blob: module
 * that imports `url`. A worker started from a blob: URL has its creator's origin, so the workers it starts in turn
 * take the same path.
 */
export function startModuleWorker(url: URL, direct: () => Worker, options: WorkerOptions = {}): Worker {
  const here = (globalThis as { location?: { origin: string } }).location?.origin;
  if (!here || url.origin === here) return direct();
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" }));
  const w = new Worker(shim, { ...options, type: "module" });
  const revoke = () => URL.revokeObjectURL(shim);
  w.addEventListener("message", revoke, { once: true });
  w.addEventListener("error", revoke, { once: true });
  return w;
}
