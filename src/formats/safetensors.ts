// safetensors reader and writer: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the raw data.
// The .dbllm model file is a safetensors file, so the same code reads both.
import { DbllmError, invalidArgument } from "../errors.ts";
import { tensorBytes, typeBySafetensors, typeByName } from "../quant/table.ts";
import { readExact, type ByteSource } from "../bytes/source.ts";
import { checkTensorLayout, elementCount, type TensorInfo, type UnreadableTensor } from "./tensor-info.ts";

export interface SafetensorsFile {
  readonly metadata: Record<string, string>;
  readonly tensors: TensorInfo[];
  /** Tensors of a dtype dbllm has no row for. */
  readonly unreadable: UnreadableTensor[];
  readonly dataOffset: number;
}

/** Headers beyond this are corrupt: the safetensors crate's cap, which the trainer shares (tests/fixtures/config-parity.json). */
export const MAX_HEADER = 100_000_000;

export function looksLikeSafetensors(first16: Uint8Array): boolean {
  if (first16.length < 9) return false;
  const n = new DataView(first16.buffer, first16.byteOffset, 8).getBigUint64(0, true);
  return n > 1n && n <= BigInt(MAX_HEADER) && first16[8] === 0x7b; // '{'
}

export async function readSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const lenBytes = await readExact(source, 0, 8, "the safetensors header length");
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new DbllmError("SIZE_LIMIT", `${source.name}: safetensors header of ${n} bytes is absurd`);
  const headerLength = Number(n);
  if (source.size !== undefined && 8 + headerLength > source.size) {
    throw new DbllmError("TRUNCATED_FILE", `${source.name}: header of ${headerLength} bytes but the file has ${source.size}`);
  }
  const bytes = await readExact(source, 8, headerLength, "the safetensors header");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new DbllmError("INVALID_FILE", `${source.name}: safetensors header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  return parseSafetensorsHeader(header, 8 + headerLength, source.size, source.name);
}

export function parseSafetensorsHeader(header: unknown, dataOffset: number, fileSize: number | undefined, name: string): SafetensorsFile {
  if (!header || typeof header !== "object" || Array.isArray(header)) throw new DbllmError("INVALID_FILE", `${name}: safetensors header is not a JSON object`);
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [], unreadable: UnreadableTensor[] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === "__metadata__") {
      if (!value || typeof value !== "object") throw new DbllmError("INVALID_FILE", `${name}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw new DbllmError("INVALID_FILE", `${name}: __metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t.dtype !== "string" || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets) || t.data_offsets.length !== 2) {
      throw new DbllmError("INVALID_FILE", `${name}: tensor ${key} has a malformed entry`);
    }
    const shape = t.shape as unknown[];
    if (shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0) || shape.length > 8) {
      throw new DbllmError("INVALID_FILE", `${name}: tensor ${key} has an invalid shape ${JSON.stringify(shape)}`);
    }
    const [begin, end] = t.data_offsets as unknown[];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0 || (end as number) < (begin as number)) {
      throw new DbllmError("INVALID_FILE", `${name}: tensor ${key} has invalid data_offsets`);
    }
    const type = typeBySafetensors(t.dtype) ?? typeByName(t.dtype);
    const elements = elementCount(shape as number[]);
    if (!Number.isSafeInteger(elements)) throw new DbllmError("SIZE_LIMIT", `${name}: tensor ${key} has an absurd shape`);
    const byteLength = (end as number) - (begin as number);
    const expected = type && tensorBytes(type, elements, key);
    if (type && expected !== byteLength) {
      throw new DbllmError("INVALID_FILE", `${name}: tensor ${key} (${type.name} ${JSON.stringify(shape)}) needs ${expected} bytes but data_offsets span ${byteLength}`);
    }
    const offset = dataOffset + (begin as number);
    if (fileSize !== undefined && offset + byteLength > fileSize) {
      throw new DbllmError("TRUNCATED_FILE", `${name}: tensor ${key} ends at byte ${offset + byteLength} but the file has ${fileSize}`);
    }
    if (type) tensors.push({ name: key, type, shape: shape as number[], offset, byteLength });
    else unreadable.push({ name: key, typeName: t.dtype, offset, byteLength });
  }
  tensors.sort((a, b) => a.offset - b.offset);
  checkTensorLayout([...tensors, ...unreadable], name, { start: dataOffset, end: fileSize });
  return { metadata, tensors, unreadable, dataOffset };
}

export interface SafetensorsTensorOut {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
  data: Uint8Array | (() => Uint8Array);
}

/**
 * The header of a safetensors file holding `tensors` in the given order, and where each tensor's data starts
 * relative to the end of the header. The JSON is padded with spaces (which JSON allows) so the data begins at a
 * multiple of `alignment`; tensors follow each other without gaps, because the format forbids holes (the
 * reference implementation rejects files that have them).
 */
export function safetensorsLayout(tensors: Omit<SafetensorsTensorOut, "data">[], metadata: Record<string, string> = {}, alignment = 64): { header: Uint8Array; starts: number[] } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let pos = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(pos);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + t.byteLength] };
    pos += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / alignment) * alignment - 8;
  const h = new Uint8Array(8 + padded).fill(0x20);
  new DataView(h.buffer).setBigUint64(0, BigInt(padded), true);
  h.set(json, 8);
  return { header: h, starts };
}

/** Yields a safetensors file as chunks (see safetensorsLayout); tensor data given as functions are produced in turn. */
export function* writeSafetensors(tensors: SafetensorsTensorOut[], metadata: Record<string, string> = {}, alignment = 64): Generator<Uint8Array> {
  const { header } = safetensorsLayout(tensors, metadata, alignment);
  yield header;
  for (const t of tensors) {
    const data = typeof t.data === "function" ? t.data() : t.data;
    if (data.byteLength !== t.byteLength) throw invalidArgument(`tensor ${t.name}: ${data.byteLength} bytes given, ${t.byteLength} declared`);
    yield data;
  }
}
