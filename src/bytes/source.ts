// Byte sources: one small interface over everything a model can come from (a file in Node, a URL, an
// ArrayBuffer, a Blob). Readers only move forward through a source, so a URL can be consumed as one streamed
// download; random-access sources simply ignore that restriction.
import { DbllmError, internalError, throwIfAborted } from "../errors.ts";

export interface ByteSource {
  /** Human-readable origin, used in error messages. */
  readonly name: string;
  /** Total size in bytes, when known up front. */
  readonly size: number | undefined;
  /** Reads up to `length` bytes at `offset`; fewer only at end of data. Offsets never go backwards. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function bufferSource(data: ArrayBuffer | ArrayBufferView, name = "buffer"): ByteSource {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.byteLength, offset + length)),
    close: async () => {},
  };
}

export function blobSource(blob: Blob, name = "blob"): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + length)).arrayBuffer()),
    close: async () => {},
  };
}

/**
 * A URL read as one forward stream (no range requests): the header is parsed from the first bytes and tensors
 * are copied as they arrive, so the file is never held whole in memory.
 */
export async function urlSource(url: string, signal?: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<ByteSource> {
  throwIfAborted(signal);
  let response: Response;
  try {
    response = await fetchImpl(url, { signal });
  } catch (e) {
    throwIfAborted(signal);
    throw new DbllmError("IO", `could not fetch ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (response.status === 404) throw new DbllmError("NOT_FOUND", `${url} answered 404 Not Found`);
  if (!response.ok || !response.body) throw new DbllmError("IO", `could not fetch ${url}: HTTP ${response.status}`);
  const lengthHeader = response.headers.get("content-length");
  const encoded = response.headers.get("content-encoding");
  const size = lengthHeader && !encoded ? Number(lengthHeader) : undefined;
  return streamSource(response.body, url, size, signal);
}

/** A forward-only source over a ReadableStream of bytes. */
export function streamSource(stream: ReadableStream<Uint8Array>, name: string, size: number | undefined, signal?: AbortSignal): ByteSource {
  const reader = stream.getReader();
  let pending: Uint8Array[] = []; // chunks received but not consumed, starting at `base`
  let pendingBytes = 0;
  let base = 0;
  let done = false;
  const pull = async () => {
    throwIfAborted(signal);
    const { value, done: end } = await reader.read().catch((e) => {
      throwIfAborted(signal);
      throw new DbllmError("IO", `reading ${name} failed: ${(e as Error).message}`, { cause: e });
    });
    if (end) done = true;
    else if (value.byteLength) { pending.push(value); pendingBytes += value.byteLength; }
  };
  return {
    name,
    size,
    async read(offset, length) {
      if (offset < base) throw internalError(`backward read at ${offset} of forward-only ${name} (at ${base})`);
      while (!done && base + pendingBytes < offset + length) await pull();
      // drop what lies before `offset`
      while (pending.length && base + pending[0].byteLength <= offset) { base += pending[0].byteLength; pendingBytes -= pending[0].byteLength; pending.shift(); }
      const end = Math.min(offset + length, base + pendingBytes);
      const out = new Uint8Array(Math.max(0, end - offset));
      let pos = base;
      for (const c of pending) {
        const a = Math.max(offset, pos), b = Math.min(end, pos + c.byteLength);
        if (a < b) out.set(c.subarray(a - pos, b - pos), a - offset);
        pos += c.byteLength;
        if (pos >= end) break;
      }
      return out;
    },
    async close() {
      pending = [];
      await reader.cancel().catch(() => {});
    },
  };
}

/** Reads exactly `length` bytes or throws TRUNCATED_FILE. */
export async function readExact(source: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.byteLength < length) {
    throw new DbllmError("TRUNCATED_FILE", `${source.name} ends at byte ${offset + bytes.byteLength} inside ${what} (needs ${offset + length})`);
  }
  return bytes;
}
