// The .dbllm model file: a safetensors file (any safetensors reader can list it) whose __metadata__ makes it
// self-contained — configuration, tokenizer, chat template (inside the tokenizer), quantization settings —
// and whose quantized tensors are stored as raw bytes (dtype U8, shape [rows, bytes per row]) with their
// logical type and shape in `dbllm.tensor_types`. docs/FORMAT.md documents it byte by byte.
import { DbllmError } from "../errors.ts";
import { configFromJSON, type ModelConfig } from "../config/model-config.ts";
import { tensorBytes, typeByName } from "../quant/table.ts";
import { isRecord } from "../json.ts";
import { readSafetensors, type SafetensorsFile } from "./safetensors.ts";
import type { ByteSource } from "../bytes/source.ts";
import type { TensorInfo } from "./tensor-info.ts";

export const DBLLM_VERSION = 1;

/** Where tensor data start: the header is padded so that this divides 8 + N (the writers' alignment). */
export const DBLLM_ALIGNMENT = 64;

export interface TensorTypeEntry {
  type: string;
  /** Logical shape in elements, outermost first. */
  shape: number[];
}

export interface DbllmMetadata {
  config: ModelConfig;
  /** Tokenizer.serialize() output. */
  tokenizer: string;
  quantization: Record<string, unknown>;
  tensorTypes: Record<string, TensorTypeEntry>;
  provenance?: Record<string, unknown>;
}

/** The safetensors __metadata__ of a .dbllm file (all values are strings, as safetensors requires). */
export function dbllmMetadataStrings(m: DbllmMetadata): Record<string, string> {
  const out: Record<string, string> = {
    format: "dbllm",
    "dbllm.version": String(DBLLM_VERSION),
    "dbllm.config": JSON.stringify(m.config),
    "dbllm.tokenizer": m.tokenizer,
    "dbllm.quantization": JSON.stringify(m.quantization),
    "dbllm.tensor_types": JSON.stringify(m.tensorTypes),
  };
  if (m.provenance) out["dbllm.provenance"] = JSON.stringify(m.provenance);
  return out;
}

export function isDbllm(file: SafetensorsFile): boolean {
  return file.metadata.format === "dbllm";
}

export interface DbllmFile {
  file: SafetensorsFile;
  config: ModelConfig;
  tokenizer: string;
  quantization: Record<string, unknown>;
  provenance?: Record<string, unknown>;
  /** Tensors with their logical types and shapes. */
  tensors: TensorInfo[];
}

function json<T>(file: SafetensorsFile, key: string, name: string): T {
  const text = file.metadata[key];
  if (text === undefined) throw new DbllmError("INVALID_FILE", `${name}: .dbllm metadata ${key} is missing`);
  try { return JSON.parse(text) as T; } catch {
    throw new DbllmError("INVALID_FILE", `${name}: .dbllm metadata ${key} is not valid JSON`);
  }
}

/** Reads and checks a .dbllm header; tensor sizes are checked against logical shapes before anything is allocated. */
export async function readDbllm(source: ByteSource): Promise<DbllmFile> {
  const file = await readSafetensors(source);
  return interpretDbllm(file, source.name);
}

export function interpretDbllm(file: SafetensorsFile, name: string): DbllmFile {
  if (!isDbllm(file)) throw new DbllmError("INVALID_FILE", `${name} is a safetensors file but not a .dbllm model`);
  const version = file.metadata["dbllm.version"];
  if (version !== String(DBLLM_VERSION)) {
    throw new DbllmError("UNSUPPORTED_VERSION", `${name}: .dbllm version ${JSON.stringify(version)} is not supported (this dbllm reads version "${DBLLM_VERSION}")`);
  }
  // A header length a few bytes short still parses (the padding is spaces) but shifts every tensor.
  if (file.dataOffset % DBLLM_ALIGNMENT !== 0) {
    throw new DbllmError("INVALID_FILE", `${name}: tensor data start at byte ${file.dataOffset}, not at a multiple of ${DBLLM_ALIGNMENT} (the header length is damaged)`);
  }
  const config = configFromJSON(json<unknown>(file, "dbllm.config", name), `${name} (dbllm.config)`);
  const types = json<unknown>(file, "dbllm.tensor_types", name);
  if (!isRecord(types)) throw new DbllmError("INVALID_FILE", `${name}: .dbllm metadata dbllm.tensor_types is not a JSON object`);
  const tensors = file.tensors.map((t) => {
    if (!Object.hasOwn(types, t.name)) return t;
    const entry = types[t.name] as TensorTypeEntry;
    if (!isRecord(entry) || typeof entry.type !== "string") throw new DbllmError("INVALID_FILE", `${name}: dbllm.tensor_types entry of ${t.name} has no type`);
    const type = typeByName(entry.type);
    if (!type || !type.decode) throw new DbllmError("UNSUPPORTED_TENSOR_TYPE", `${name}: tensor ${t.name} has type ${entry.type}, which this dbllm cannot read`);
    if (!Array.isArray(entry.shape) || entry.shape.length !== 2 || !entry.shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new DbllmError("INVALID_FILE", `${name}: tensor ${t.name} has an invalid logical shape`);
    }
    const expected = tensorBytes(type, entry.shape[0] * entry.shape[1], t.name);
    if (entry.shape[1] % type.blockSize !== 0 || expected !== t.byteLength) {
      throw new DbllmError("INVALID_FILE", `${name}: tensor ${t.name} (${entry.type} [${entry.shape.join(", ")}]) needs ${expected} bytes, the file has ${t.byteLength}`);
    }
    return { ...t, type, shape: entry.shape };
  });
  const quantization = json<Record<string, unknown>>(file, "dbllm.quantization", name);
  const provenance = file.metadata["dbllm.provenance"] ? json<Record<string, unknown>>(file, "dbllm.provenance", name) : undefined;
  if (!isRecord(quantization) || (provenance !== undefined && !isRecord(provenance))) {
    throw new DbllmError("INVALID_FILE", `${name}: .dbllm metadata dbllm.quantization and dbllm.provenance must be JSON objects`);
  }
  const tokenizer = file.metadata["dbllm.tokenizer"];
  if (!tokenizer) throw new DbllmError("TOKENIZER", `${name}: .dbllm metadata dbllm.tokenizer is missing`);
  return { file, config, tokenizer, quantization, provenance, tensors };
}
