// llama.cpp's Python GGUF reader (PyPI `gguf`) as an independent reference for dequantization.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pythonLibDir } from "../../scripts/assets.ts";

const SCRIPT = `
import sys, json, numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
path, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = set(sys.argv[4].split(",")) if len(sys.argv) > 4 and sys.argv[4] else None
r = GGUFReader(path)
index = {}
for t in r.tensors:
    if names is not None and t.name not in names: continue
    v = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)[:limit]
    v.tofile(f"{out}/{len(index)}.bin")
    index[t.name] = {"file": f"{len(index)}.bin", "type": t.tensor_type.name, "n": int(v.size)}
json.dump(index, open(f"{out}/index.json", "w"))
`;

/** Dequantizes (the first `limit` values of) tensors with gguf-py; returns name → values. */
export function ggufPyDequantize(file: string, outDir: string, limit: number, names?: string[]): Map<string, { type: string; values: Float32Array }> {
  mkdirSync(outDir, { recursive: true });
  execFileSync("python3", ["-c", SCRIPT, file, outDir, String(limit), names?.join(",") ?? ""], {
    env: { ...process.env, PYTHONPATH: pythonLibDir() },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const index = JSON.parse(readFileSync(path.join(outDir, "index.json"), "utf8")) as Record<string, { file: string; type: string; n: number }>;
  const out = new Map<string, { type: string; values: Float32Array }>();
  for (const [name, e] of Object.entries(index)) {
    const b = readFileSync(path.join(outDir, e.file));
    out.set(name, { type: e.type, values: new Float32Array(b.buffer, b.byteOffset, e.n) });
  }
  return out;
}

/** f32 → f16 bits by numpy (round to nearest even), as a reference for our encoder. */
export function numpyF16Bits(values: Float32Array): Uint16Array {
  const hex = Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("hex");
  const out = execFileSync("python3", ["-c", "import sys, numpy as np; v=np.frombuffer(bytes.fromhex(sys.stdin.read()), dtype=np.float32); np.seterr(over=\"ignore\"); sys.stdout.write(v.astype(np.float16).tobytes().hex())"], {
    env: { ...process.env, PYTHONPATH: pythonLibDir() },
    input: hex,
    maxBuffer: 1 << 28,
  }).toString();
  const b = Buffer.from(out, "hex");
  return new Uint16Array(b.buffer, b.byteOffset, values.length);
}
