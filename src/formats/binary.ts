// A bounds-checked little-endian cursor over a byte prefix of a file. Running past the prefix throws
// NeedMoreBytes (the caller reads more and parses again); running past the end of the file is corruption.
import { DbllmError } from "../errors.ts";

export class NeedMoreBytes extends Error {
  constructor(readonly needed: number) { super(`need ${needed} bytes`); }
}

// ignoreBOM: a leading U+FEFF is content (LLaMA has a token that is exactly "\uFEFF").
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class Cursor {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    /** Size of the whole file when known; `bytes` is a prefix of it. */
    readonly fileSize: number | undefined,
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Ensures `n` more bytes are available, distinguishing a short buffer from a short file. */
  need(n: number, field: string): void {
    const end = this.pos + n;
    if (!Number.isFinite(end)) throw new DbllmError("SIZE_LIMIT", `${this.what}: ${field} has an absurd size (${n})`);
    if (this.fileSize !== undefined && end > this.fileSize) {
      throw new DbllmError("TRUNCATED_FILE", `${this.what}: ${field} needs ${n} bytes at offset ${this.pos} but the file has ${this.fileSize}`);
    }
    if (end > this.bytes.byteLength) throw new NeedMoreBytes(end);
  }
  u8(f = "u8"): number { this.need(1, f); return this.view.getUint8(this.pos++); }
  i8(f = "i8"): number { this.need(1, f); return this.view.getInt8(this.pos++); }
  u16(f = "u16"): number { this.need(2, f); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(f = "i16"): number { this.need(2, f); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(f = "u32"): number { this.need(4, f); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(f = "i32"): number { this.need(4, f); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(f = "f32"): number { this.need(4, f); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(f = "f64"): number { this.need(8, f); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  /** A 64-bit unsigned count or size; values beyond 2^53 cannot be real sizes and are rejected. */
  u64(f = "u64"): number {
    this.need(8, f);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DbllmError("SIZE_LIMIT", `${this.what}: ${f} = ${v} is absurd`);
    return Number(v);
  }
  i64(f = "i64"): number | bigint {
    this.need(8, f);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  u64big(f = "u64"): number | bigint {
    this.need(8, f);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  /** Raw bytes (a view, not a copy). */
  take(n: number, f: string): Uint8Array { this.need(n, f); const b = this.bytes.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  utf8(n: number, f: string): string {
    const b = this.take(n, f);
    try { return utf8.decode(b); } catch { throw new DbllmError("INVALID_FILE", `${this.what}: ${f} is not valid UTF-8`); }
  }
}

/** Parses a header that may need more than the first bytes of a file: reads a growing prefix until it parses. */
export async function parseGrowingPrefix<T>(
  read: (length: number) => Promise<Uint8Array>,
  fileSize: number | undefined,
  parse: (bytes: Uint8Array) => T,
  what: string,
  { initial = 1 << 20, limit = 1 << 30 } = {},
): Promise<T> {
  let length = fileSize !== undefined ? Math.min(initial, fileSize) : initial;
  for (;;) {
    const bytes = await read(length);
    try {
      return parse(bytes);
    } catch (e) {
      if (!(e instanceof NeedMoreBytes)) throw e;
      if (bytes.byteLength < length) {
        throw new DbllmError("TRUNCATED_FILE", `${what}: the data ends at byte ${bytes.byteLength} inside the header`);
      }
      if (e.needed > limit) throw new DbllmError("SIZE_LIMIT", `${what}: header larger than ${limit} bytes`);
      length = Math.min(limit, Math.max(e.needed, length * 2));
      if (fileSize !== undefined) length = Math.min(length, fileSize);
    }
  }
}
