// Node implementation of the platform interface: files and directories through node:fs.
import { readFileSync } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import { DbllmError, internalError } from "../errors.ts";
import { urlSource, type ByteSource } from "../bytes/source.ts";
import { cgroupCpuQuota } from "./cgroup.ts";
import type { Platform, WorkerHandle } from "./types.ts";

function readCgroupFile(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The worker script next to this module: the bundle's pool-worker.js, or the .ts source under tsx. */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("../engine/pool-worker.ts", import.meta.url) : new URL("./pool-worker.js", import.meta.url);
}

function ioError(p: string, e: unknown): DbllmError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new DbllmError("NOT_FOUND", `${p} does not exist`, { cause: e });
  return new DbllmError("IO", `cannot read ${p}: ${(e as Error).message}`, { cause: e });
}

export const platform: Platform = {
  name: "node",
  isLocalPath: (s) => !/^(https?|blob|data):/i.test(s),
  async openFile(p) {
    const file = await open(p, "r").catch((e) => { throw ioError(p, e); });
    const { size } = await file.stat();
    const source: ByteSource = {
      name: p,
      size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = new Uint8Array(n);
        let done = 0;
        while (done < n) {
          const { bytesRead } = await file.read(buf, done, n - done, offset + done).catch((e) => { throw ioError(p, e); });
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === n ? buf : buf.subarray(0, done);
      },
      close: () => file.close(),
    };
    return source;
  },
  openUrl: (url, o) => urlSource(url, o.signal, o.fetch),
  async isDirectory(p) {
    try { return (await stat(p)).isDirectory(); } catch (e) { throw ioError(p, e); }
  },
  async readText(p) {
    const bytes = await readFile(p).catch((e) => { throw ioError(p, e); });
    try { return new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch {
      throw new DbllmError("INVALID_TEXT", `${p} is not valid UTF-8`);
    }
  },
  async exists(p) {
    try { await stat(p); return true; } catch { return false; }
  },
  join: (dir, name) => path.join(dir, name),
  cpuCount: () => (typeof availableParallelism === "function" ? availableParallelism() : cpus().length),
  cpuQuota: () => cgroupCpuQuota(readCgroupFile),
  threadSupport: () => ({ ok: true }),
  async createWorker(): Promise<WorkerHandle> {
    const { Worker } = await import("node:worker_threads");
    const url = workerUrl();
    // Running from sources (tests under tsx): workers do not inherit tsx's loader, so a one-line bootstrap
    // registers it before importing the TypeScript worker. Built bundles start pool-worker.js directly.
    const entry = url.pathname.endsWith(".ts")
      ? new URL(`data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(url.href)});`)}`)
      : url;
    const w = new Worker(entry);
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (cb) => { w.on("message", cb); },
      onError: (cb) => { w.on("error", cb); },
      unref: () => { w.removeAllListeners("message"); w.removeAllListeners("error"); w.unref(); },
      terminate: () => { void w.terminate(); },
    };
  },
  async parentPort() {
    const { parentPort } = await import("node:worker_threads");
    if (!parentPort) throw internalError("not running in a worker");
    return { postMessage: (m) => parentPort.postMessage(m), once: (cb) => { parentPort.once("message", cb); } };
  },
  canBlock: true,
};
