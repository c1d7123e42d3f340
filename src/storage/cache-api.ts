// Model cache in the Cache API (window and worker scopes of every current browser; secure contexts only).
// One cache, one entry per URL; the metadata travel as headers of the stored Response. cache.put() with a
// streamed body stores the entry only when the stream closes normally — an errored stream (abort, truncated
// download, size mismatch) rejects the put and leaves no entry, which is the commit rule we need.
import type { CacheEntryInfo, CacheWriter, CachedFile, ModelStorage } from "./types.ts";

export const CACHE_NAME = "dbllm-models-v1";
const H_SIZE = "x-dbllm-size", H_ETAG = "x-dbllm-etag", H_MODIFIED = "x-dbllm-last-modified", H_STORED = "x-dbllm-stored-at";
/** Bytes queued towards the cache before a write waits for the storage to catch up. */
const QUEUE_BYTES = 8 << 20;

function infoFrom(url: string, h: Headers): CacheEntryInfo | undefined {
  const size = Number(h.get(H_SIZE));
  if (!Number.isSafeInteger(size) || size < 0 || h.get(H_SIZE) === null) return undefined;
  return { url, size, etag: h.get(H_ETAG) ?? undefined, lastModified: h.get(H_MODIFIED) ?? undefined, storedAt: Number(h.get(H_STORED)) || 0 };
}

export class CacheApiStorage implements ModelStorage {
  readonly kind = "cache-api" as const;

  async isSupported(): Promise<boolean> {
    if (typeof caches === "undefined" || typeof ReadableStream === "undefined") return false;
    try { await caches.open(CACHE_NAME); return true; } catch { return false; } // SecurityError: opaque origin, storage blocked
  }

  async read(url: string): Promise<CachedFile | undefined> {
    const cache = await caches.open(CACHE_NAME);
    const res = await cache.match(url);
    if (!res) return undefined;
    const info = infoFrom(url, res.headers);
    if (!info || !res.body) {
      await cache.delete(url);
      return undefined;
    }
    const body = res.body;
    return { info, stream: () => body };
  }

  async write(info: CacheEntryInfo): Promise<CacheWriter> {
    const cache = await caches.open(CACHE_NAME);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let wake: (() => void) | undefined;
    const body = new ReadableStream<Uint8Array>(
      { start: (c) => { controller = c; }, pull: () => { wake?.(); } },
      new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_BYTES }),
    );
    const headers = new Headers({ "content-type": "application/octet-stream", "content-length": String(info.size), [H_SIZE]: String(info.size), [H_STORED]: String(info.storedAt) });
    if (info.etag) headers.set(H_ETAG, info.etag);
    if (info.lastModified) headers.set(H_MODIFIED, info.lastModified);
    let failure: unknown;
    const put = cache.put(info.url, new Response(body, { headers })).catch((e) => { failure = e; wake?.(); throw e; });
    put.catch(() => {}); // reported through write()/commit()
    return {
      async write(chunk) {
        if (failure) throw failure;
        controller.enqueue(chunk);
        while ((controller.desiredSize ?? 1) <= 0 && !failure) await new Promise<void>((r) => { wake = r; });
        wake = undefined;
        if (failure) throw failure;
      },
      async commit() {
        if (failure) throw failure;
        controller.close();
        await put;
      },
      async abort(reason) {
        try { controller.error(reason ?? new Error("download incomplete")); } catch { /* already closed or errored */ }
        await put.catch(() => {});
      },
    };
  }

  async getSize(url: string): Promise<number | undefined> {
    const res = await (await caches.open(CACHE_NAME)).match(url);
    if (!res) return undefined;
    void res.body?.cancel();
    return infoFrom(url, res.headers)?.size;
  }

  async delete(url: string): Promise<boolean> {
    return (await caches.open(CACHE_NAME)).delete(url);
  }

  async list(): Promise<CacheEntryInfo[]> {
    const cache = await caches.open(CACHE_NAME);
    const out: CacheEntryInfo[] = [];
    for (const req of await cache.keys()) {
      const res = await cache.match(req);
      if (!res) continue;
      void res.body?.cancel();
      const info = infoFrom(req.url, res.headers);
      if (info) out.push(info);
    }
    return out;
  }
}
