// The model cache behind one small interface, so that the loader does not care where bytes are kept.
// Implementations: the Cache API (cache-api.ts) and the origin private file system (opfs.ts). Both are
// browser-only; Node reads files from its own file system and never imports this folder.

/** What the cache knows about a stored file: enough to decide whether the server's copy changed. */
export interface CacheEntryInfo {
  /** The absolute URL the file was downloaded from (the cache key). */
  url: string;
  /** Bytes stored (the whole file). */
  size: number;
  /** The server's validators at download time, when it sent them. */
  etag?: string;
  lastModified?: string;
  /** When the entry was stored (ms since the epoch). */
  storedAt: number;
}

/**
 * An entry being written while the file downloads. Nothing is visible to read() until commit() resolves, so a
 * download that stops half-way (abort, network error, quota) never leaves an entry behind.
 */
export interface CacheWriter {
  /** Stores the next chunk; resolves when the storage can take more (backpressure). Rejects on storage errors. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the entry visible. Call only when the whole file arrived with the expected size. */
  commit(): Promise<void>;
  /** Discards what was written. Never rejects. */
  abort(reason?: unknown): Promise<void>;
}

export interface CachedFile {
  info: CacheEntryInfo;
  /** The stored bytes as a stream (opened lazily: an entry found stale is never read). */
  stream(): ReadableStream<Uint8Array>;
}

export type StorageKind = "cache-api" | "opfs";

export interface ModelStorage {
  readonly kind: StorageKind;
  /** Whether this storage works in this context (API present, secure context, not blocked by the user). */
  isSupported(): Promise<boolean>;
  /** The complete entry for `url`, or undefined (entries that fail their own size check are deleted). */
  read(url: string): Promise<CachedFile | undefined>;
  /** Starts a new entry for `info.url`; the old one (if any) stays readable until commit(). */
  write(info: CacheEntryInfo): Promise<CacheWriter>;
  /** Size of the stored file, or undefined when there is none. */
  getSize(url: string): Promise<number | undefined>;
  /** Removes the entry; true when there was one. */
  delete(url: string): Promise<boolean>;
  /** Every complete entry. */
  list(): Promise<CacheEntryInfo[]>;
}

/** loadModel's `cache` option: on (first supported storage), off, or one storage by name. */
export type CacheOption = boolean | StorageKind;

/** Where a URL's bytes came from; kept on the byte source so that tests and the demo can show it. */
export type CacheOutcome =
  | { state: "hit"; storage: StorageKind }
  | { state: "stored"; storage: StorageKind }
  | { state: "not-stored"; storage: StorageKind; reason: string }
  | { state: "off"; reason: string };
