// Where loadModel puts a model: a dedicated Web Worker on a page's main thread (so that loading and generation
// never hold up the page), the calling thread everywhere else — Node, edge runtimes, Deno, a worker of the
// application's own — and wherever `worker: false` asks for it.
import { platform } from "#platform";
import { DbllmError } from "../errors.ts";
import type { Placement } from "../model/model.ts";

const g = globalThis as { document?: unknown; Worker?: unknown };

export function placement(worker: boolean | undefined): Placement {
  const canStart = platform.name === "web" && typeof g.Worker === "function";
  const window = typeof g.document !== "undefined";
  if (worker === false) return { worker: false, reason: "the calling thread: worker: false requested" };
  if (worker === true) {
    if (!canStart) throw new DbllmError("UNSUPPORTED_ENVIRONMENT", `worker: true needs Web Workers, which ${platform.name === "node" ? "Node does not have (it runs the model on the calling thread, with worker_threads for the matrix products)" : "this runtime does not have"}`);
    return { worker: true, reason: "a dedicated Web Worker: worker: true requested" };
  }
  if (window && canStart) return { worker: true, reason: "a dedicated Web Worker: the default on a page's main thread (worker: false keeps the model on the page)" };
  if (platform.name === "node") return { worker: false, reason: "the calling thread: the default in Node" };
  if (window) return { worker: false, reason: "the calling thread: this page has no Web Workers" };
  return { worker: false, reason: "the calling thread: the default off a page's main thread (a worker of your own, an edge runtime, Deno)" };
}
