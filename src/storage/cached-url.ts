// A URL opened through the model cache. A stored entry is used when the server's validators (a HEAD request:
// size, ETag, Last-Modified) still match it, or when the server cannot be reached; otherwise the file is
// downloaded once, and the download is teed chunk by chunk into a new cache entry as the loader consumes it —
// no second request, no second copy of the file in memory (the cache side queues at most a few MiB).
// Storage errors (QuotaExceededError above all) only turn caching off for this load; they never fail it.
import { DbllmError, throwIfAborted } from "../errors.ts";
import { streamSource, urlSource, type ByteSource } from "../bytes/source.ts";
import { CacheApiStorage } from "./cache-api.ts";
import { OpfsStorage } from "./opfs.ts";
import type { CacheEntryInfo, CacheOption, CacheOutcome, CacheWriter, ModelStorage } from "./types.ts";

export interface CachedUrlOptions {
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** true: the first supported storage; a kind: only that one; false: no cache. */
  cache?: CacheOption;
}

/** A byte source that also says where its bytes came from. */
export type CachedByteSource = ByteSource & { readonly cache: CacheOutcome };

/** Storages in order of preference: the Cache API is everywhere and stores streamed responses atomically. */
export const STORAGES: readonly ModelStorage[] = [new CacheApiStorage(), new OpfsStorage()];

/** When a load ends (the loader closes the source) with at most this much of the file unread, the rest is
 * still downloaded into the cache; with more left, the load failed early and the partial entry is dropped. */
const DRAIN_LIMIT_BYTES = 16 << 20;

const supported = new Map<ModelStorage, Promise<boolean>>();

/** The storage a `cache` option selects here, or why there is none. */
export async function pickStorage(option: CacheOption): Promise<ModelStorage | string> {
  if (option === false) return "cache: false";
  const candidates = option === true ? STORAGES : STORAGES.filter((s) => s.kind === option);
  if (!candidates.length) return `unknown cache storage ${JSON.stringify(option)}`;
  for (const s of candidates) {
    if (!supported.has(s)) supported.set(s, s.isSupported().catch(() => false));
    if (await supported.get(s)) return s;
  }
  return option === true ? "no Cache API or OPFS in this context (it needs a secure context: https or localhost)" : `${option} is not available in this context`;
}

/** The absolute URL without its fragment: the cache key. */
function cacheKey(url: string): string | undefined {
  try {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const u = new URL(url, base);
    if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
    u.hash = "";
    return u.href;
  } catch {
    return undefined;
  }
}

function warn(message: string): void {
  (globalThis as { console?: Console }).console?.warn(`dbllm: ${message}`);
}

const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** The byte size a response announces for its body, when it is the decoded file size. */
function announcedSize(h: Headers): number | undefined {
  const n = Number(h.get("content-length") ?? NaN);
  return Number.isSafeInteger(n) && n >= 0 && !h.get("content-encoding") ? n : undefined;
}

type Verdict = "fresh" | "stale" | "unreachable";

/** Whether the server's file is still the one in the cache: a HEAD request, compared on what both sides know. */
async function validate(info: CacheEntryInfo, fetchImpl: typeof fetch, signal: AbortSignal | undefined): Promise<Verdict> {
  let res: Response;
  try {
    res = await fetchImpl(info.url, { method: "HEAD", cache: "no-store", signal });
  } catch {
    throwIfAborted(signal);
    return "unreachable"; // offline: the cached copy is the best we have
  }
  if (res.status === 404 || res.status === 410) return "stale";
  if (!res.ok) return "unreachable"; // a server that cannot answer HEAD, or is failing: keep using the copy
  const size = announcedSize(res.headers);
  if (size !== undefined && size !== info.size) return "stale";
  const etag = res.headers.get("etag"), modified = res.headers.get("last-modified");
  if (etag && info.etag && etag !== info.etag) return "stale";
  if (modified && info.lastModified && modified !== info.lastModified) return "stale";
  // a validator the server sends now but did not send when the entry was stored: cannot compare, so re-fetch
  if ((etag && !info.etag && !modified) || (modified && !info.lastModified && !etag)) return "stale";
  return "fresh";
}

/** Wraps a stored entry's stream so that a stored file shorter than its record is removed (and reported). */
function checkedStream(body: ReadableStream<Uint8Array>, info: CacheEntryInfo, storage: ModelStorage): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { value, done } = await reader.read();
      if (done) {
        if (seen !== info.size) {
          await storage.delete(info.url).catch(() => {});
          c.error(new DbllmError("IO", `the cached copy of ${info.url} was damaged (${seen} of ${info.size} bytes) and has been removed; load it again`));
        } else c.close();
        return;
      }
      seen += value.byteLength;
      c.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/**
 * Opens `url` for the loader: from the cache when a valid entry exists, else from the network with the
 * download teed into the cache. Without a usable storage it is a plain streamed download.
 */
export async function openCachedUrl(url: string, options: CachedUrlOptions = {}): Promise<CachedByteSource> {
  const { signal } = options;
  const fetchImpl = options.fetch ?? fetch;
  throwIfAborted(signal);
  const key = cacheKey(url);
  const picked = key ? await pickStorage(options.cache ?? true) : `${url} is not an http(s) URL`;
  if (typeof picked === "string") return withOutcome(await urlSource(url, signal, fetchImpl), { state: "off", reason: picked });
  const storage = picked;

  const entry = await storage.read(key!).catch((e) => { warn(`could not read the model cache (${describe(e)})`); return undefined; });
  if (entry) {
    const verdict = await validate(entry.info, fetchImpl, signal);
    if (verdict !== "stale") {
      return withOutcome(streamSource(checkedStream(entry.stream(), entry.info, storage), url, entry.info.size, signal), { state: "hit", storage: storage.kind });
    }
    void entry.stream().cancel().catch(() => {});
    await storage.delete(key!).catch(() => {});
  }

  // Download, teeing into the cache. The outcome is settled when the stream ends or the source is closed.
  const outcome: { value: CacheOutcome } = { value: { state: "not-stored", storage: storage.kind, reason: "the download did not finish" } };
  const teeFetch: typeof fetch = async (input, init) => {
    const res = await fetchImpl(input, { ...init, cache: "no-store" }); // our cache replaces the HTTP cache's copy
    if (!res.ok || !res.body) return res;
    const size = announcedSize(res.headers);
    const notStored = (reason: string) => { outcome.value = { state: "not-stored", storage: storage.kind, reason }; return res; };
    if (size === undefined) return notStored("the server sent no Content-Length (or a Content-Encoding), so a complete download cannot be told from a partial one");
    const room = await freeBytes();
    if (room !== undefined && room < size) return notStored(`the storage quota leaves ${room} bytes, the file has ${size}`);
    const info: CacheEntryInfo = {
      url: key!, size, etag: res.headers.get("etag") ?? undefined, lastModified: res.headers.get("last-modified") ?? undefined, storedAt: Date.now(),
    };
    let writer: CacheWriter;
    try { writer = await storage.write(info); } catch (e) { return notStored(describe(e)); }
    const body = teeIntoCache(res.body, writer, size, signal, (o) => {
      outcome.value = o.ok ? { state: "stored", storage: storage.kind } : { state: "not-stored", storage: storage.kind, reason: o.reason };
      if (!o.ok && o.storageError) warn(`not caching ${key}: ${o.reason} (the model loads from the network only)`);
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  const src = await urlSource(url, signal, teeFetch);
  return { name: src.name, size: src.size, read: (o, n) => src.read(o, n), close: () => src.close(), get cache() { return outcome.value; } };
}

function withOutcome(src: ByteSource, cache: CacheOutcome): CachedByteSource {
  return { name: src.name, size: src.size, read: (o, n) => src.read(o, n), close: () => src.close(), cache };
}

async function freeBytes(): Promise<number | undefined> {
  try {
    const e = await navigator.storage.estimate();
    return e.quota !== undefined && e.usage !== undefined ? e.quota - e.usage : undefined;
  } catch {
    return undefined;
  }
}

type TeeEnd = { ok: true } | { ok: false; reason: string; storageError: boolean };

/**
 * Passes a response body through to the loader, writing every chunk into `writer` on the way. Pulled by the
 * loader (highWaterMark 0): the download runs at the loader's pace, and the cache write applies backpressure.
 * Commits when the body ended with exactly `size` bytes; when the loader closes the source early, the rest is
 * still downloaded into the cache if little is left (the loader needed nothing past its last tensor), else
 * the entry is discarded.
 */
function teeIntoCache(body: ReadableStream<Uint8Array>, writer: CacheWriter, size: number, signal: AbortSignal | undefined, end: (e: TeeEnd) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let received = 0;
  let active = true; // still writing into the cache
  const stop = async (reason: string, storageError: boolean) => {
    if (!active) return;
    active = false;
    await writer.abort(new Error(reason));
    end({ ok: false, reason, storageError });
  };
  const put = async (chunk: Uint8Array) => {
    if (!active) return;
    try { await writer.write(chunk); } catch (e) { await stop(describe(e), true); }
  };
  const finish = async () => {
    if (!active) return;
    if (received !== size) return stop(`the download ended after ${received} of ${size} bytes`, false);
    active = false;
    try { await writer.commit(); end({ ok: true }); } catch (e) {
      await writer.abort(e);
      end({ ok: false, reason: describe(e), storageError: true });
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try { r = await reader.read(); } catch (e) {
        await stop(signal?.aborted ? "the load was aborted" : `the download failed (${describe(e)})`, false);
        throw e;
      }
      if (r.done) { await finish(); c.close(); return; }
      received += r.value.byteLength;
      await put(r.value);
      c.enqueue(r.value);
    },
    async cancel(reason) {
      if (active && !signal?.aborted && size - received <= DRAIN_LIMIT_BYTES) {
        try {
          for (let r = await reader.read(); !r.done; r = await reader.read()) { received += r.value.byteLength; await put(r.value); }
          await finish();
          return;
        } catch (e) {
          await stop(`the download failed (${describe(e)})`, false);
        }
      }
      await stop(signal?.aborted ? "the load was aborted" : "the load ended before the download did", false);
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
