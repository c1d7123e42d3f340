// dbllm distill …: forwards to the PyTorch trainer, `python -m dbllm_train distill …` (python/dbllm_train,
// docs/DISTILL.md), when a Python with torch and the package can be found; otherwise says how to install them.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DbllmError } from "../errors.ts";
import { UsageError } from "./args.ts";

export const DISTILL_HELP = `dbllm distill --teacher <model> -o <out.dbllm> [options]
  Distillation of a 2-bit FDB student from a float teacher (.gguf, .dbllm or Hugging Face directory): plain KD by
  default, deviation-aware (DAD) with --gamma. Runs in PyTorch: forwards every option to
  \`python -m dbllm_train distill\` (docs/DISTILL.md).
  --group-size 64|128       weights per (α1, α2) pair (default 64)
  --gamma G                 DAD exponent: token weight (H_T·H_S/log²V)^G; default 0 = plain KD (docs/BENCHMARKS.md)
  --weighting both|teacher|gap|excess
                            what the token weight reads (docs/DISTILL.md); default both
  --samples N --seq-len L --temperature T
                            data-free calibration: N sequences of L tokens sampled from the teacher (256, 256, 1)
  --chat-samples N          N more that start from a user turn in the teacher's chat template
  --text FILE               add real text (repeatable)
  --steps N --batch-size B --grad-accum A --lr LR --lr-alpha LR
                            optimizer steps and their size (AdamW, warmup + cosine)
  --device auto|cpu|cuda    where to train (auto: CUDA when present); --precision auto|bf16|fp32; --compile
  --resume [CKPT]           continue an interrupted run (same options)
  --eval-text FILE          held-out perplexity of the student at the end (repeatable)
  --threads N               torch threads
  Several GPUs or machines: torchrun … -m dbllm_train distill … (docs/DISTILL.md).
  python -m dbllm_train distill --help lists every option.
  Environment: DBLLM_PYTHON picks the Python interpreter.`;

export const TORCH_INSTALL = `dbllm distill needs Python with PyTorch, numpy and gguf, and the dbllm_train package (python/ in the dbllm
repository). On Debian 12 / Ubuntu, from a clone of the repository:
  bash scripts/python-env.sh
which runs
  apt-get install --no-install-recommends python3-torch python3-pytest python3-yaml python3-tqdm libopenblas0-pthread
  python3 -m pip install --no-deps --target .cache/pylib-train gguf==0.17.1
Elsewhere (or with a GPU): pip install torch numpy gguf && pip install ./python, then set DBLLM_PYTHON to that
python if it is not python3.`;

/** Where the dbllm_train package lives next to this code (src/cli → ../../python, dist/ → ../python). */
function packageDirs(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const out: string[] = [];
  for (const up of ["../..", ".."]) {
    const root = path.resolve(here, up);
    if (existsSync(path.join(root, "python", "dbllm_train", "__init__.py"))) {
      out.push(path.join(root, "python"));
      const lib = path.join(root, ".cache", "pylib-train");
      if (existsSync(lib)) out.push(lib);
      break;
    }
  }
  return out;
}

export interface TrainerPython { python: string; env: NodeJS.ProcessEnv }

/** The first of $DBLLM_PYTHON, /usr/bin/python3, python3 that imports torch, numpy, gguf and dbllm_train. */
export function findTrainerPython(): TrainerPython | undefined {
  const extra = packageDirs();
  const env = { ...process.env, PYTHONPATH: [...extra, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  for (const python of [process.env.DBLLM_PYTHON, "/usr/bin/python3", "python3"]) {
    if (!python || (python.includes("/") && !existsSync(python))) continue;
    const r = spawnSync(python, ["-c", "import torch, numpy, gguf, dbllm_train"], { env, stdio: "ignore", timeout: 120_000 });
    if (r.status === 0) return { python, env };
  }
  return undefined;
}

export async function distillCommand(argv: string[]): Promise<void> {
  if (argv.length === 0) throw new UsageError("dbllm distill needs --teacher <model> and -o <out.dbllm>");
  const py = findTrainerPython();
  if (!py) throw new DbllmError("NOT_FOUND", `no Python with PyTorch and dbllm_train was found.\n${TORCH_INSTALL}`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(py.python, ["-m", "dbllm_train", "distill", ...argv], { env: py.env, stdio: "inherit" });
    const stop = () => child.kill("SIGINT");
    process.once("SIGINT", stop);
    child.on("error", (e) => reject(new DbllmError("IO", `cannot run ${py.python}: ${e.message}`)));
    child.on("close", (c, signal) => { process.off("SIGINT", stop); resolve(c ?? (signal ? 130 : 1)); });
  });
  if (code === 130) throw new DbllmError("ABORTED", "distillation interrupted (resume it with the same options and --resume)");
  if (code === 2) throw new UsageError(`python -m dbllm_train distill rejected the options (see its message above)`);
  if (code !== 0) throw new DbllmError("INVALID_ARGUMENT", `python -m dbllm_train distill failed (exit code ${code})`);
}
