// The Python that runs the PyTorch trainer (python/dbllm_train) and its pytest suite: the first interpreter
// among $DBLLM_PYTHON, /usr/bin/python3 (Debian's python3-torch) and python3 that imports torch, numpy and gguf
// with PYTHONPATH = python/ + .cache/pylib-train. scripts/python-env.sh installs all of it.
//   node --import tsx scripts/python.ts            prints the interpreter and versions (exit 1 + how to install if none)
//   node --import tsx scripts/python.ts pytest …   runs python/tests with pytest (extra arguments go to pytest)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const TRAIN_LIB = path.join(ROOT, ".cache", "pylib-train");

export const TORCH_INSTALL_HINT = [
  "The PyTorch trainer needs torch, numpy and gguf. On Debian 12 / Ubuntu (CPU):",
  "  bash scripts/python-env.sh",
  "which runs: apt-get install --no-install-recommends python3-torch python3-pytest python3-yaml python3-tqdm libopenblas0-pthread",
  "       and:  python3 -m pip install --no-deps --target .cache/pylib-train gguf==0.17.1",
  "Elsewhere: any Python ≥ 3.9 with torch ≥ 1.13, numpy and gguf (pip install torch numpy gguf); point DBLLM_PYTHON at it.",
].join("\n");

export interface TrainPython {
  python: string;
  env: NodeJS.ProcessEnv;
  torch: string;
  numpy: string;
}

function withPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const parts = [path.join(ROOT, "python"), TRAIN_LIB, env.PYTHONPATH].filter((p): p is string => !!p);
  return { ...env, PYTHONPATH: parts.join(path.delimiter) };
}

let cached: TrainPython | null | undefined;

/** The trainer's Python, or undefined when none imports torch + numpy + gguf. */
export function trainPython(): TrainPython | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const candidates = [process.env.DBLLM_PYTHON, "/usr/bin/python3", "python3"].filter((p): p is string => !!p);
  const env = withPath(process.env);
  for (const python of candidates) {
    if (python.includes("/") && !existsSync(python)) continue;
    try {
      const out = execFileSync(python, ["-c", "import torch, numpy, gguf, dbllm_train; print(torch.__version__, numpy.__version__)"], {
        env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 120_000,
      }).trim().split(" ");
      cached = { python, env, torch: out[0], numpy: out[1] };
      return cached;
    } catch { /* next */ }
  }
  cached = null;
  return undefined;
}

/** Runs pytest on python/tests; returns its exit status. */
export function runPytest(args: string[] = []): number {
  const py = trainPython();
  if (!py) {
    process.stderr.write(`[python] no Python with torch found.\n${TORCH_INSTALL_HINT}\n`);
    return 1;
  }
  const r = spawnSync(py.python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", path.join(ROOT, "python", "tests"), ...args], {
    env: py.env, stdio: "inherit", cwd: ROOT,
  });
  return r.status ?? 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === "pytest") process.exit(runPytest(rest));
  const py = trainPython();
  if (!py) {
    process.stderr.write(`no Python with torch found.\n${TORCH_INSTALL_HINT}\n`);
    process.exit(1);
  }
  process.stdout.write(`${py.python}: torch ${py.torch}, numpy ${py.numpy}\n`);
}
