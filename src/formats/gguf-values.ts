// GGUF metadata values: typed scalars, strings and (nested) arrays, read from a hostile file — every length is
// checked against the file before anything is allocated from it.
import { DbllmError } from "../errors.ts";
import type { Cursor } from "./binary.ts";

export enum GGUFValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8,
  ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

export type GGUFArray =
  | string[] | boolean[] | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | (number | bigint)[] | GGUFArray[];
export type GGUFValue = number | bigint | boolean | string | GGUFArray;

const MAX_STRING = 1 << 26;
/** Smallest size of one element of each value type (arrays: their element type and length). */
const MIN_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

export class GGUFValueReader {
  constructor(private readonly c: Cursor, private readonly name: string) {}

  str(field: string): string {
    const n = this.c.u64(`${field} length`);
    if (n > MAX_STRING) throw new DbllmError("SIZE_LIMIT", `${this.name}: ${field} is ${n} bytes long`);
    return this.c.utf8(n, field);
  }

  value(type: number, field: string, depth: number): GGUFValue {
    const c = this.c;
    switch (type) {
      case GGUFValueType.UINT8: return c.u8(field);
      case GGUFValueType.INT8: return c.i8(field);
      case GGUFValueType.UINT16: return c.u16(field);
      case GGUFValueType.INT16: return c.i16(field);
      case GGUFValueType.UINT32: return c.u32(field);
      case GGUFValueType.INT32: return c.i32(field);
      case GGUFValueType.FLOAT32: return c.f32(field);
      case GGUFValueType.BOOL: {
        const b = c.u8(field);
        if (b > 1) throw new DbllmError("INVALID_FILE", `${this.name}: ${field} is a bool with value ${b}`);
        return b === 1;
      }
      case GGUFValueType.STRING: return this.str(field);
      case GGUFValueType.UINT64: return c.u64big(field);
      case GGUFValueType.INT64: return c.i64(field);
      case GGUFValueType.FLOAT64: return c.f64(field);
      case GGUFValueType.ARRAY: {
        if (depth > 4) throw new DbllmError("INVALID_FILE", `${this.name}: ${field} nests arrays too deeply`);
        const et = c.u32(`${field} element type`);
        const n = c.u64(`${field} length`);
        return this.array(et, n, field, depth + 1);
      }
      default: throw new DbllmError("INVALID_FILE", `${this.name}: ${field} has unknown value type ${type}`);
    }
  }

  private typed<T extends ArrayBufferView>(Ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number, field: string): T {
    const raw = this.c.take(n * Ctor.BYTES_PER_ELEMENT, field);
    return new Ctor(raw.slice().buffer); // copy: the header prefix is discarded after parsing, and alignment is not guaranteed
  }

  private array(et: number, n: number, field: string, depth: number): GGUFArray {
    const min = MIN_BYTES[et];
    if (min === undefined) throw new DbllmError("INVALID_FILE", `${this.name}: ${field} has unknown element type ${et}`);
    this.c.need(Math.min(n * min, Number.MAX_SAFE_INTEGER), field); // before allocating n elements
    const each = <V>(read: () => V): V[] => { const out: V[] = new Array(n); for (let i = 0; i < n; i++) out[i] = read(); return out; };
    switch (et) {
      case GGUFValueType.UINT8: return this.typed(Uint8Array, n, field);
      case GGUFValueType.INT8: return this.typed(Int8Array, n, field);
      case GGUFValueType.UINT16: return this.typed(Uint16Array, n, field);
      case GGUFValueType.INT16: return this.typed(Int16Array, n, field);
      case GGUFValueType.UINT32: return this.typed(Uint32Array, n, field);
      case GGUFValueType.INT32: return this.typed(Int32Array, n, field);
      case GGUFValueType.FLOAT32: return this.typed(Float32Array, n, field);
      case GGUFValueType.FLOAT64: return this.typed(Float64Array, n, field);
      case GGUFValueType.BOOL: return Array.from(this.typed(Uint8Array, n, field), (b) => b !== 0);
      case GGUFValueType.STRING: return each(() => this.str(field));
      case GGUFValueType.UINT64: return each(() => this.c.u64big(field));
      case GGUFValueType.INT64: return each(() => this.c.i64(field));
      default: return each(() => this.value(et, field, depth) as GGUFArray);
    }
  }
}
