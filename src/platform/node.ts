// Node implementation of the platform interface: files and directories through node:fs.
import { open, readFile, stat } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import { DbllmError } from "../errors.ts";
import type { ByteSource } from "../formats/source.ts";
import type { Platform } from "./types.ts";

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
};
