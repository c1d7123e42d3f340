// Model cache in the origin private file system (navigator.storage.getDirectory()), for browsers where it is
// preferred or the Cache API is missing. Each entry is two files named by the SHA-256 of the URL: `<h>.bin`
// (the bytes) and `<h>.json` (CacheEntryInfo). The .json file is the commit record: it is removed before a
// new download starts and written only after the .bin writable closed with the expected size, and read()
// accepts an entry only when both exist and the sizes agree.
import { internalError } from "../errors.ts";
import type { CacheEntryInfo, CacheWriter, CachedFile, ModelStorage } from "./types.ts";

export const OPFS_DIR = "dbllm-models-v1";

interface Writable { write(data: Uint8Array): Promise<void>; close(): Promise<void>; abort(reason?: unknown): Promise<void> }
/** createWritable() as every browser that has it implements it (typed loosely: lib.dom's buffer types are strict). */
const writable = (h: FileSystemFileHandle) => (h as unknown as { createWritable(): Promise<Writable> }).createWritable();
type DirHandle = FileSystemDirectoryHandle & { values(): AsyncIterable<FileSystemHandle> };

async function hashName(url: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(url));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function dir(): Promise<DirHandle> {
  const root = await navigator.storage.getDirectory();
  return (await root.getDirectoryHandle(OPFS_DIR, { create: true })) as DirHandle;
}

async function readInfo(d: DirHandle, name: string): Promise<CacheEntryInfo | undefined> {
  try {
    const text = await (await (await d.getFileHandle(`${name}.json`)).getFile()).text();
    const info = JSON.parse(text) as CacheEntryInfo;
    return typeof info?.url === "string" && Number.isSafeInteger(info.size) ? info : undefined;
  } catch {
    return undefined;
  }
}

const remove = (d: DirHandle, file: string) => d.removeEntry(file).then(() => true, () => false);

export class OpfsStorage implements ModelStorage {
  readonly kind = "opfs" as const;

  async isSupported(): Promise<boolean> {
    const g = globalThis as { FileSystemFileHandle?: { prototype: object }; isSecureContext?: boolean };
    if (typeof navigator === "undefined" || typeof navigator.storage?.getDirectory !== "function") return false;
    if (!g.FileSystemFileHandle || !("createWritable" in g.FileSystemFileHandle.prototype)) return false; // Safari < 26: worker-only sync handles
    if (typeof crypto === "undefined" || !crypto.subtle) return false;
    try { await dir(); return true; } catch { return false; }
  }

  async read(url: string): Promise<CachedFile | undefined> {
    const d = await dir();
    const name = await hashName(url);
    const info = await readInfo(d, name);
    if (!info || info.url !== url) return undefined;
    let file: File;
    try { file = await (await d.getFileHandle(`${name}.bin`)).getFile(); } catch { file = undefined as never; }
    if (!file || file.size !== info.size) {
      await this.delete(url);
      return undefined;
    }
    return { info, stream: () => file.stream() as ReadableStream<Uint8Array> };
  }

  async write(info: CacheEntryInfo): Promise<CacheWriter> {
    const d = await dir();
    const name = await hashName(info.url);
    await remove(d, `${name}.json`); // the old entry is no longer valid from here on
    // createWritable() writes into a swap file that replaces the .bin only on close()
    const w = await writable(await d.getFileHandle(`${name}.bin`, { create: true }));
    let written = 0;
    return {
      async write(chunk) {
        await w.write(chunk);
        written += chunk.byteLength;
      },
      async commit() {
        if (written !== info.size) throw internalError(`committing ${written} of ${info.size} bytes`);
        await w.close();
        const mw = await writable(await d.getFileHandle(`${name}.json`, { create: true }));
        await mw.write(new TextEncoder().encode(JSON.stringify(info)));
        await mw.close();
      },
      async abort(reason) {
        await w.abort(reason).catch(() => {});
        await remove(d, `${name}.bin`);
      },
    };
  }

  async getSize(url: string): Promise<number | undefined> {
    const info = await readInfo(await dir(), await hashName(url));
    return info?.url === url ? info.size : undefined;
  }

  async delete(url: string): Promise<boolean> {
    const d = await dir();
    const name = await hashName(url);
    const had = await remove(d, `${name}.json`);
    await remove(d, `${name}.bin`);
    return had;
  }

  async list(): Promise<CacheEntryInfo[]> {
    const d = await dir();
    const out: CacheEntryInfo[] = [];
    for await (const h of d.values()) {
      if (h.kind !== "file" || !h.name.endsWith(".json")) continue;
      const info = await readInfo(d, h.name.slice(0, -5));
      if (info) out.push(info);
    }
    return out;
  }
}
