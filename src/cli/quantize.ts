// dbllm quantize <model> -o out.dbllm: FDB (or RTN) 2-bit quantization of any model the runtime loads.
import { createWriteStream } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { DbllmError } from "../errors.ts";
import { openModel } from "../open/open-model.ts";
import { collectImportance } from "../conversion/calibrate.ts";
import { quantizeModel, type QuantizeOptions, type QuantizeReport } from "../conversion/quantize.ts";
import { UsageError, parse, requireModel } from "./args.ts";

export const QUANTIZE_HELP = `dbllm quantize <model> -o <out.dbllm> [options]
  --method fdb|rtn|q8       FDB fit (default), plain 2-bit round-to-nearest (the baseline to beat), or
                            int8 linear layers (a high-precision reference)
  --group-size 64|128       weights per (α1, α2) pair (default 64; a matrix whose width it does not divide
                            uses the largest of 128/64/32 that does)
  --embed q8|q4|f16         token embeddings (default q8)     --head q8|q4|f16  untied output head (default q8)
  --calib <text.txt>        activation-aware fit: weigh each column's error by its mean squared input on
                            this text (needs the model to fit in wasm memory as f32)
  --calib-tokens <n>        calibration tokens to use (default 4096)
  -q, --quiet               no progress or per-layer report`;

export async function quantizeCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    output: { type: "string", short: "o" }, method: { type: "string" }, "group-size": { type: "string" },
    embed: { type: "string" }, head: { type: "string" }, calib: { type: "string" }, "calib-tokens": { type: "string" },
    quiet: { type: "boolean", short: "q" }, json: { type: "boolean" },
  });
  const input = requireModel(positionals, "quantize");
  if (!values.output) throw new UsageError("dbllm quantize needs -o <out.dbllm>");
  const method = (values.method ?? "fdb") as QuantizeOptions["method"];
  if (!["fdb", "rtn", "q8"].includes(method)) throw new UsageError("--method must be fdb, rtn or q8");
  const groupSize = Number(values["group-size"] ?? 64);
  if (groupSize !== 64 && groupSize !== 128) throw new UsageError("--group-size must be 64 or 128");
  const embed = (values.embed ?? "q8") as "q8" | "q4" | "f16", head = (values.head ?? "q8") as "q8" | "q4" | "f16";
  if (!["q8", "q4", "f16"].includes(embed) || !["q8", "q4", "f16"].includes(head)) throw new UsageError("--embed and --head take q8, q4 or f16");
  const quiet = !!values.quiet;
  const log = (s: string) => { if (!quiet) process.stderr.write(s); };
  const t0 = Date.now();

  const model = await openModel(input);
  try {
    let importance: Map<string, Float64Array> | undefined;
    if (values.calib) {
      const text = await readFile(values.calib, "utf8").catch((e) => { throw new DbllmError("NOT_FOUND", `cannot read ${values.calib}: ${(e as Error).message}`); });
      const n = Number(values["calib-tokens"] ?? 4096);
      if (!Number.isInteger(n) || n < 16) throw new UsageError("--calib-tokens must be an integer ≥ 16");
      const tokens = model.tokenizer.encode(text, { addSpecialTokens: false }).slice(0, n);
      log(`calibrating on ${tokens.length} tokens of ${values.calib}\n`);
      importance = await collectImportance(model, tokens, { onProgress: (d, t) => log(`\r  ${d}/${t} tokens`) });
      log("\n");
    }
    const tmp = `${values.output}.partial`;
    const out = createWriteStream(tmp);
    const failed = new Promise<never>((_, rej) => out.on("error", (e) => rej(new DbllmError("IO", `cannot write ${values.output}: ${e.message}`))));
    const gen = quantizeModel(model, {
      method, groupSize: groupSize as 64 | 128, embed, head, importance,
      onProgress: (p) => {
        if (quiet || !p.tensor) return;
        const frac = p.totalBytes ? p.bytes / p.totalBytes : 0, el = (Date.now() - t0) / 1000;
        const eta = frac > 0.02 ? ` ETA ${Math.round(el / frac - el)} s` : "";
        process.stderr.write(`\r[${p.index + 1}/${p.tensors}] ${(100 * frac).toFixed(0)}%${eta} ${p.tensor}`.padEnd(80));
      },
      onTensor: (r) => {
        if (quiet || r.relError === undefined) return;
        const z = r.zeroShare !== undefined ? `  zero bits ${(100 * r.zeroShare).toFixed(1)}%` : "";
        process.stderr.write(`\r${r.name.padEnd(32)} ${r.type.padEnd(10)} rel. error ${r.relError.toFixed(4)}${z}`.padEnd(80) + "\n");
      },
    });
    let report: QuantizeReport;
    try {
      for (;;) {
        const r = await Promise.race([gen.next(), failed]);
        if (r.done) { report = r.value; break; }
        if (!out.write(r.value)) await new Promise<void>((res) => { out.once("drain", () => res()); });
      }
      await new Promise<void>((res) => { out.end(() => res()); });
      await rename(tmp, values.output);
    } catch (e) {
      out.destroy();
      await rm(tmp, { force: true });
      throw e;
    }
    const secs = (Date.now() - t0) / 1000;
    const summary = {
      output: values.output, method, groupSize, embed, head, activationAware: !!importance,
      linearBitsPerWeight: report.linearBitsPerWeight, totalBitsPerWeight: report.totalBitsPerWeight,
      zeroBinaryShare: report.zeroShare, bytes: report.bytes, seconds: secs,
      meanRelError: mean(report.tensors.filter((t) => t.role === "linear").map((t) => t.relError!)),
    };
    if (values.json) process.stdout.write(JSON.stringify({ ...summary, tensors: report.tensors }) + "\n");
    else {
      log(`\r${" ".repeat(80)}\r`);
      process.stdout.write(`wrote ${values.output}: ${(report.bytes / 2 ** 20).toFixed(1)} MiB in ${secs.toFixed(1)} s\n` +
        `  block matrices: ${report.linearBitsPerWeight.toFixed(3)} bits/weight, mean relative error ${summary.meanRelError.toFixed(4)}` +
        (method === "q8" ? "" : `, ${(100 * report.zeroShare).toFixed(1)}% zero binaries`) +
        `\n  whole model: ${report.totalBitsPerWeight.toFixed(3)} bits/parameter\n`);
    }
  } finally {
    await Promise.all(model.files.map((f) => f.close()));
  }
}

function mean(xs: number[]): number { return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0; }
