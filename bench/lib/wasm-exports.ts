// Names of a wasm module's exported functions by function index, read from its export section:
// V8's CPU profiles name wasm code "wasm-function[i]", and our builds carry no name section.
import { readFileSync } from "node:fs";

export function wasmFunctionNames(file: string): Map<number, string> {
  const b = readFileSync(file);
  let i = 8;
  const leb = (): number => {
    let r = 0, s = 0, x: number;
    do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
    return r;
  };
  const names = new Map<number, string>();
  while (i < b.length) {
    const id = b[i++], size = leb(), end = i + size;
    if (id === 7) { // exports (their function indices count imported functions too, as V8's do)
      for (let n = leb(); n > 0; n--) {
        const len = leb(), name = b.subarray(i, i + len).toString("utf8"); i += len;
        const kind = b[i++], index = leb();
        if (kind === 0) names.set(index, name);
      }
    }
    i = end;
  }
  return names;
}
