// Options shared by the commands that load a model and generate.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { GenerateOptions } from "../generate/options.ts";
import type { LoadOptions } from "../index.ts";

export class UsageError extends Error {}

export const LOAD_OPTIONS = {
  ctx: { type: "string" },
  simd: { type: "string" },
  threads: { type: "string" },
  kernel: { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const satisfies ParseArgsConfig["options"];

export const SAMPLING_OPTIONS = {
  "max-tokens": { type: "string", short: "n" },
  temperature: { type: "string", short: "t" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  "repeat-penalty": { type: "string" },
  "presence-penalty": { type: "string" },
  "frequency-penalty": { type: "string" },
  seed: { type: "string", short: "s" },
  stop: { type: "string", multiple: true },
  "parse-special": { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

export function parse<O extends ParseArgsConfig["options"]>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function num(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} expects ${integer ? "an integer" : "a number"}, got "${v}"`);
  return n;
}

export function loadOptions(v: Record<string, unknown>): LoadOptions {
  const simd = v.simd as string | undefined;
  if (simd !== undefined && !["auto", "simd", "relaxed"].includes(simd)) throw new UsageError(`--simd must be auto, simd or relaxed`);
  const kernel = v.kernel as string | undefined;
  if (kernel !== undefined && !["auto", "lut", "lut-exact", "popcount"].includes(kernel)) throw new UsageError(`--kernel must be auto, lut, lut-exact or popcount`);
  return {
    contextLength: num("ctx", v.ctx as string | undefined, true),
    simd: simd as LoadOptions["simd"],
    threads: num("threads", v.threads as string | undefined, true),
    kernel: kernel as LoadOptions["kernel"],
  };
}

export function generateOptions(v: Record<string, unknown>): GenerateOptions {
  const s = (k: string) => v[k] as string | undefined;
  return {
    maxTokens: num("max-tokens", s("max-tokens"), true),
    temperature: num("temperature", s("temperature")),
    topK: num("top-k", s("top-k"), true),
    topP: num("top-p", s("top-p")),
    minP: num("min-p", s("min-p")),
    repetitionPenalty: num("repeat-penalty", s("repeat-penalty")),
    presencePenalty: num("presence-penalty", s("presence-penalty")),
    frequencyPenalty: num("frequency-penalty", s("frequency-penalty")),
    seed: num("seed", s("seed"), true),
    stop: v.stop as string[] | undefined,
    parseSpecialTokens: v["parse-special"] === true ? true : undefined,
  };
}

/** The model that ships in the package (models/, docs/DISTILL.md): used when a command is given no model. */
export const DEFAULT_MODEL_NAME = "smollm2-135m-instruct-fdb.dbllm";

export function defaultModelPath(): string {
  // src/cli/args.ts and dist/node/cli.js both sit two levels below the package root
  return fileURLToPath(new URL(`../../models/${DEFAULT_MODEL_NAME}`, import.meta.url));
}

/** The model named on the command line, else the embedded default model. */
export function requireModel(positionals: string[], command: string): string {
  const m = positionals[0];
  if (m) return m;
  const d = defaultModelPath();
  if (!existsSync(d)) throw new UsageError(`dbllm ${command} needs a model (a .gguf or .dbllm file, or a Hugging Face directory); the default model ${d} is missing`);
  return d;
}
