// Writes tests/fixtures/fdb-fit-vector.json: weight groups and what src/quant/fdb.ts fitGroup makes of them
// (bit planes, f16 scales, error). The PyTorch trainer (python/dbllm_train/fdb_fit.py) must reproduce every
// bit of it, so that distillation starts from exactly the model `dbllm quantize` writes; both
// python/tests/test_fdb_fit_vector.py and tests/trainer-parity.test.ts check it.
// Run: node --import tsx scripts/make-fdb-vector.ts
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fitGroup, type FdbMethod } from "../src/quant/fdb.ts";
import { f16ToF32, f32ToF16 } from "../src/quant/half.ts";
import { rng } from "../tests/helpers/numeric.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const FIXTURE = path.join(ROOT, "tests/fixtures/fdb-fit-vector.json");

export interface FdbVectorCase {
  name: string;
  method: FdbMethod;
  g: number;
  /** Per-column error weights (activation-aware fit), or null for plain MSE. */
  imp: number[] | null;
  /** groups·g f32 values, group after group. */
  weights: number[];
  /** Per group: the bit planes as strings of '0'/'1', the f16 scales, and the weighted squared error. */
  b1: string[];
  b2: string[];
  a1: number[];
  a2: number[];
  /** The scales' f16 bit patterns (JSON cannot tell -0 from 0). */
  h1: number[];
  h2: number[];
  err: number[];
}

function cases(): { name: string; method: FdbMethod; g: number; imp: Float32Array | null; w: Float32Array }[] {
  const out: { name: string; method: FdbMethod; g: number; imp: Float32Array | null; w: Float32Array }[] = [];
  const r = rng(20240229);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  for (const g of [64, 128]) {
    out.push({ name: `gaussian-g${g}`, method: "fdb", g, imp: null, w: fill(g * 48, () => gauss() * 0.02) });
    out.push({ name: `outliers-g${g}`, method: "fdb", g, imp: null, w: fill(g * 24, (i) => gauss() * 0.02 * (i % 29 === 3 ? 9 : 1)) });
    out.push({ name: `heavy-tail-g${g}`, method: "fdb", g, imp: null, w: fill(g * 24, () => { const u = gauss(); return 0.01 * u * u * u; }) });
    out.push({ name: `rtn-g${g}`, method: "rtn", g, imp: null, w: fill(g * 24, () => gauss() * 0.05) });
    const imp = fill(g, (i) => 0.25 + ((i * 7) % 11) / 5);
    out.push({ name: `weighted-g${g}`, method: "fdb", g, imp, w: fill(g * 24, () => gauss() * 0.03) });
    // exactly representable groups (random bits, f16 scales): the extremes start recovers them
    out.push({
      name: `exact-fdb2-g${g}`, method: "fdb", g, imp: null, w: (() => {
        const w = new Float32Array(g * 16);
        for (let j = 0; j < w.length; j += g) {
          const a1 = f16ToF32(f32ToF16(0.02 * (1 + r()))), a2 = f16ToF32(f32ToF16(-0.02 * (0.3 + r())));
          for (let i = 0; i < g; i++) w[j + i] = (r() < 0.35 ? a1 : 0) + (r() < 0.35 ? a2 : 0);
        }
        return w;
      })(),
    });
  }
  // ties: few distinct values on a grid, so many weights sit exactly between two levels
  out.push({ name: "grid-ties-g64", method: "fdb", g: 64, imp: null, w: fill(64 * 24, () => (Math.floor(r() * 9) - 4) * 0.125) });
  out.push({ name: "grid-ties-rtn-g64", method: "rtn", g: 64, imp: null, w: fill(64 * 12, () => (Math.floor(r() * 9) - 4) * 0.25) });
  // degenerate groups: all zero, one non-zero, constant, one-signed, tiny (f16 subnormal scales), large
  const g = 64;
  const special = new Float32Array(g * 8);
  special.fill(0, 0, g);
  special[g + 5] = 0.37;
  special.fill(0.01, 2 * g, 3 * g);
  for (let i = 0; i < g; i++) special[3 * g + i] = 0.01 + 0.03 * r();
  for (let i = 0; i < g; i++) special[4 * g + i] = -(0.01 + 0.03 * r());
  for (let i = 0; i < g; i++) special[5 * g + i] = gauss() * 1e-6;
  for (let i = 0; i < g; i++) special[6 * g + i] = gauss() * 300;
  for (let i = 0; i < g; i++) special[7 * g + i] = i < 2 ? (i ? -1 : 1) : 0;
  out.push({ name: "degenerate-g64", method: "fdb", g, imp: null, w: special });
  out.push({ name: "degenerate-rtn-g64", method: "rtn", g, imp: null, w: special });
  return out;
}

export function makeVector(): { generator: string; cases: FdbVectorCase[] } {
  const result: FdbVectorCase[] = [];
  for (const c of cases()) {
    const { g, w } = c;
    const b1 = new Uint8Array(g), b2 = new Uint8Array(g);
    const out: FdbVectorCase = { name: c.name, method: c.method, g, imp: c.imp ? Array.from(c.imp) : null, weights: Array.from(w), b1: [], b2: [], a1: [], a2: [], h1: [], h2: [], err: [] };
    const imp = c.imp ? Float64Array.from(c.imp) : undefined;
    for (let o = 0; o < w.length; o += g) {
      const f = fitGroup(w, o, g, imp, b1, b2, 0, c.method);
      out.b1.push(Array.from(b1).join(""));
      out.b2.push(Array.from(b2).join(""));
      out.a1.push(f.a1);
      out.a2.push(f.a2);
      out.h1.push(f32ToF16(f.a1));
      out.h2.push(f32ToF16(f.a2));
      out.err.push(f.err);
    }
    result.push(out);
  }
  return { generator: "scripts/make-fdb-vector.ts (src/quant/fdb.ts fitGroup)", cases: result };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("make-fdb-vector.ts")) {
  const v = makeVector();
  writeFileSync(FIXTURE, JSON.stringify(v) + "\n");
  process.stderr.write(`wrote ${FIXTURE}: ${v.cases.length} cases, ${v.cases.reduce((a, c) => a + c.a1.length, 0)} groups\n`);
}
