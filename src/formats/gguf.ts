// GGUF reader (versions 2 and 3, little-endian): header, metadata and tensor descriptors. Every count and size
// is checked against the file before anything is allocated from it.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
import { DbllmError } from "../errors.ts";
import type { ByteSource } from "../bytes/source.ts";
import { tensorBytes, typeByGgml, type TensorType } from "../quant/table.ts";
import { Cursor, parseGrowingPrefix } from "./binary.ts";
import { GGUFValueReader, GGUFValueType, type GGUFArray, type GGUFValue } from "./gguf-values.ts";
import { checkTensorLayout, elementCount, type TensorInfo, type UnreadableTensor } from "./tensor-info.ts";

export { GGUFValueType, type GGUFArray, type GGUFValue } from "./gguf-values.ts";

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

export interface GGUFFile {
  readonly version: number;
  readonly metadata: Map<string, GGUFValue>;
  /** The stored type of each metadata value (and of array elements), so a writer can reproduce it exactly. */
  readonly metadataTypes: Map<string, { type: GGUFValueType; elementType?: GGUFValueType }>;
  readonly tensors: TensorInfo[];
  /** Tensors of a GGML type id dbllm does not know (their size is unknown too). */
  readonly unreadable: UnreadableTensor[];
  /** Absolute offset of the tensor data section. */
  readonly dataOffset: number;
  readonly alignment: number;
}

/** Upper bounds that no real file reaches; beyond them a header is corrupt (and would allocate absurdly). */
const MAX_TENSORS = 1 << 20;
const MAX_KV = 1 << 20;
const MAX_DIMS = 4;
const MAX_ELEMENTS = 2 ** 40;

export function isGGUF(first4: Uint8Array): boolean {
  return first4.length >= 4 && first4[0] === 0x47 && first4[1] === 0x47 && first4[2] === 0x55 && first4[3] === 0x46;
}

export async function readGGUF(source: ByteSource): Promise<GGUFFile> {
  return parseGrowingPrefix((n) => source.read(0, n), source.size, (b) => parseGGUF(b, source.size, source.name), source.name);
}

/** Parses a GGUF header from a prefix of the file (throws NeedMoreBytes if the prefix is too short). */
export function parseGGUF(bytes: Uint8Array, fileSize: number | undefined, name = "GGUF file"): GGUFFile {
  const c = new Cursor(bytes, fileSize, name);
  const { version, nTensors, nKV } = readHeader(c, name);
  const values = new GGUFValueReader(c, name);
  const { metadata, metadataTypes } = readMetadata(c, values, nKV);
  const alignment = metadata.get("general.alignment") ?? 32;
  if (typeof alignment !== "number" || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || alignment > 1 << 20) {
    throw new DbllmError("INVALID_FILE", `${name}: general.alignment = ${String(alignment)} is not a power of two`);
  }
  const infos = readTensorInfos(c, values, nTensors, name);
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const { tensors, unreadable } = placeTensors(infos, dataOffset, alignment, fileSize, name);
  return { version, metadata, metadataTypes, tensors, unreadable, dataOffset, alignment };
}

/** Magic, version and the two counts, checked against the file before anything is sized from them. */
function readHeader(c: Cursor, name: string): { version: number; nTensors: number; nKV: number } {
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) throw new DbllmError("INVALID_FILE", `${name} is not a GGUF file (bad magic)`);
  const version = c.u32("version");
  if (version === 1) throw new DbllmError("UNSUPPORTED_VERSION", `${name}: GGUF version 1 is obsolete; re-convert it with a current llama.cpp`);
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? " (a big-endian file?)" : "";
    throw new DbllmError("UNSUPPORTED_VERSION", `${name}: GGUF version ${version} is not supported${hint}`);
  }
  const nTensors = c.u64("tensor count");
  const nKV = c.u64("metadata count");
  if (nTensors > MAX_TENSORS) throw new DbllmError("SIZE_LIMIT", `${name}: ${nTensors} tensors is absurd`);
  if (nKV > MAX_KV) throw new DbllmError("SIZE_LIMIT", `${name}: ${nKV} metadata entries is absurd`);
  // Each entry needs at least 12 bytes (key length + type); a file shorter than that is lying.
  if (c.fileSize !== undefined && 24 + nKV * 12 + nTensors * 24 > c.fileSize) {
    throw new DbllmError("TRUNCATED_FILE", `${name}: header announces ${nKV} entries and ${nTensors} tensors but the file has ${c.fileSize} bytes`);
  }
  return { version, nTensors, nKV };
}

function readMetadata(c: Cursor, values: GGUFValueReader, nKV: number): Pick<GGUFFile, "metadata" | "metadataTypes"> {
  const metadata = new Map<string, GGUFValue>();
  const metadataTypes = new Map<string, { type: GGUFValueType; elementType?: GGUFValueType }>();
  for (let i = 0; i < nKV; i++) {
    const key = values.str(`metadata key #${i}`);
    const type = c.u32(`type of ${key}`);
    let elementType: GGUFValueType | undefined;
    if (type === GGUFValueType.ARRAY) { // peeked here, read again by value()
      c.need(4, `${key} element type`);
      elementType = new DataView(c.bytes.buffer, c.bytes.byteOffset).getUint32(c.pos, true);
    }
    metadata.set(key, values.value(type, key, 0));
    metadataTypes.set(key, { type, elementType });
  }
  return { metadata, metadataTypes };
}

interface RawTensorInfo { name: string; dims: number[]; type: TensorType | undefined; typeId: number; rel: number }

function readTensorInfos(c: Cursor, values: GGUFValueReader, nTensors: number, name: string): RawTensorInfo[] {
  const raw: RawTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const tname = values.str(`tensor #${i} name`);
    const nd = c.u32(`${tname} dimension count`);
    if (nd === 0 || nd > MAX_DIMS) throw new DbllmError("INVALID_FILE", `${name}: tensor ${tname} has ${nd} dimensions`);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) {
      const v = c.u64(`${tname} dimension ${d}`);
      if (v === 0 || v > MAX_ELEMENTS) throw new DbllmError("SIZE_LIMIT", `${name}: tensor ${tname} has dimension ${v}`);
      dims.push(v);
    }
    const typeId = c.u32(`${tname} type`);
    const type = typeByGgml(typeId);
    const rel = c.u64(`${tname} offset`);
    if (elementCount(dims) > MAX_ELEMENTS) throw new DbllmError("SIZE_LIMIT", `${name}: tensor ${tname} has ${elementCount(dims)} elements`);
    raw.push({ name: tname, dims, type, typeId, rel });
  }
  return raw;
}

/** Where each tensor's data lie, checked: unique names, aligned offsets, whole blocks, inside the file, no overlap. */
function placeTensors(raw: RawTensorInfo[], dataOffset: number, alignment: number, fileSize: number | undefined, name: string): Pick<GGUFFile, "tensors" | "unreadable"> {
  const seen = new Set<string>();
  const tensors: TensorInfo[] = [], unreadable: UnreadableTensor[] = [];
  for (const { name: tname, dims, type, typeId, rel } of raw) {
    if (seen.has(tname)) throw new DbllmError("INVALID_FILE", `${name}: tensor ${tname} appears twice`);
    seen.add(tname);
    if (rel % alignment !== 0) throw new DbllmError("INVALID_FILE", `${name}: tensor ${tname} offset ${rel} is not aligned to ${alignment}`);
    const offset = dataOffset + rel;
    if (!type) { // its size is the type's secret: only the offset can be checked
      if (fileSize !== undefined && offset > fileSize) throw new DbllmError("TRUNCATED_FILE", `${name}: tensor ${tname} starts at byte ${offset} but the file has ${fileSize}`);
      unreadable.push({ name: tname, typeName: `GGML type ${typeId}`, offset, byteLength: undefined });
      continue;
    }
    const byteLength = tensorBytes(type, elementCount(dims), tname);
    if (dims[0] % type.blockSize !== 0) {
      throw new DbllmError("TENSOR_SHAPE", `${name}: tensor ${tname} row length ${dims[0]} is not a multiple of the ${type.name} block size`);
    }
    if (fileSize !== undefined && offset + byteLength > fileSize) {
      throw new DbllmError("TRUNCATED_FILE", `${name}: tensor ${tname} ends at byte ${offset + byteLength} but the file has ${fileSize}`);
    }
    tensors.push({ name: tname, type, shape: dims.slice().reverse(), offset, byteLength });
  }
  checkTensorLayout([...tensors, ...unreadable], name); // padding between tensors is allowed, sharing bytes is not
  return { tensors, unreadable };
}
/** Typed metadata accessors with clear errors. */
export class GGUFMeta {
  constructor(readonly map: Map<string, GGUFValue>, readonly name: string) {}
  has(key: string): boolean { return this.map.has(key); }
  num(key: string): number;
  num(key: string, fallback: number): number;
  num(key: string, fallback?: number): number {
    const v = this.map.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new DbllmError("INVALID_CONFIG", `${this.name}: metadata ${key} is missing`);
    }
    if (typeof v === "number") return v;
    if (typeof v === "bigint") throw new DbllmError("INVALID_CONFIG", `${this.name}: metadata ${key} = ${v} is out of range`);
    throw new DbllmError("INVALID_CONFIG", `${this.name}: metadata ${key} is not a number`);
  }
  str(key: string): string | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw new DbllmError("INVALID_CONFIG", `${this.name}: metadata ${key} is not a string`);
    return v;
  }
  bool(key: string): boolean | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw new DbllmError("INVALID_CONFIG", `${this.name}: metadata ${key} is not a bool`);
    return v;
  }
  arr(key: string): GGUFArray | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "object") throw new DbllmError("INVALID_CONFIG", `${this.name}: metadata ${key} is not an array`);
    return v;
  }
}
