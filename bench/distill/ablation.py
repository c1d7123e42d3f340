#!/usr/bin/env python3
"""DAD vs KD, same data and same steps for every variant (issue 9): plain KD (γ = 0); DAD with both entropies at
γ = 0.5, 1, 2; the teacher's entropy alone; and two other readings of "deviation-aware" — the gap between the
teacher's and the student's entropies, and the student's excess loss (per-token KL). Each variant is one
`python -m dbllm_train distill --no-export` run from the same starting scales over the same token stream, scored on
held-out text that no variant trained on (the runtime's numerics, simulated in PyTorch).

  python3 bench/distill/ablation.py --teacher T.gguf --init-from init.npz --text train.npy ... --eval-text held.npy ...
  python3 bench/distill/ablation.py --cpu-default        # what docs/BENCHMARKS.md reports for a 2-core machine

Runs `--jobs` variants side by side (one thread each on a CPU); finished variants are kept when the command is run
again. Results: bench/results/distill-ablation-<device>.json (or --json), a table on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

START = ("init", 0.0, "both")  # evaluated with 0 steps: where every variant starts
VARIANTS = [  # (name, gamma, weighting): dad.py defines the weightings
    ("kd", 0.0, "both"),
    ("dad-both-g0.5", 0.5, "both"),
    ("dad-both-g1", 1.0, "both"),
    ("dad-both-g2", 2.0, "both"),
    ("dad-teacher-g1", 1.0, "teacher"),
    ("dad-gap-g1", 1.0, "gap"),
    ("dad-excess-g1", 1.0, "excess"),
]


def log(msg: str) -> None:
    sys.stderr.write(f"[ablation {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def run_variant(a, name: str, gamma: float, weighting: str) -> dict:
    work = os.path.join(a.work, name)
    os.makedirs(work, exist_ok=True)
    summary = os.path.join(work, "summary.json")
    if os.path.exists(summary):
        with open(summary) as f:
            return json.load(f)
    cmd = [sys.executable, "-m", "dbllm_train", "distill", "--teacher", a.teacher, "-o", os.path.join(work, "student.dbllm"), "--no-export",
           "--init-from", a.init_from, "--group-size", str(a.group_size), "--gamma", str(gamma), "--weighting", weighting,
           "--samples", str(a.samples), "--seq-len", str(a.seq_len), "--steps", str(0 if name == "init" else a.steps), "--batch-size", str(a.batch_size),
           "--grad-accum", str(a.grad_accum), "--lr", str(a.lr), "--lr-alpha", str(a.lr_alpha), "--warmup", str(a.warmup), "--seed", str(a.seed),
           "--device", a.device, "--workdir", work, "--cache", os.path.join(a.work, "cache"), "--checkpoint-every", "5", "--log-every", "5",
           "--summary", summary, "--eval-tokens", str(a.eval_tokens), "--resume"]
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    for t in a.text:
        cmd += ["--text", t]
    for t in a.eval_text:
        cmd += ["--eval-text", t]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "python"), os.path.join(ROOT, ".cache", "pylib-train"),
                                                        os.environ.get("PYTHONPATH", "")]))
    log(f"{name}: start")
    t0 = time.time()
    with open(os.path.join(work, "log.txt"), "a") as lf:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, stderr=lf, stdout=lf)
    log(f"{name}: done in {time.time() - t0:.0f} s")
    with open(summary) as f:
        return json.load(f)


def cpu_defaults(a) -> None:
    """The configuration behind the CPU table of docs/BENCHMARKS.md: SmolLM2-135M-Instruct, starting scales of the
    shared GPU-distilled model, real text only (sampling from the teacher costs more than training on a CPU)."""
    b = os.path.join(ROOT, "bench", ".work", "gpu-bundle")
    a.teacher = a.teacher or os.path.join(ROOT, ".cache", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    a.init_from = a.init_from or os.path.join(b, "init.npz")
    a.text = a.text or [os.path.join(b, "moby-train-90.npy"), os.path.join(b, "sotu-1790-2009.npy")]
    a.eval_text = a.eval_text or [os.path.join(b, "moby-heldout-10.npy"), os.path.join(b, "sotu-2010-2021.npy")]
    a.samples = 0
    a.device = "cpu"
    a.threads = a.threads or 1
    a.jobs = a.jobs or 2


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-default", action="store_true", help="the CPU configuration of docs/BENCHMARKS.md (needs gpu_session.py prepare's bundle)")
    p.add_argument("--teacher")
    p.add_argument("--init-from")
    p.add_argument("--text", action="append", default=[])
    p.add_argument("--eval-text", action="append", default=[])
    p.add_argument("--eval-tokens", type=int, default=8192)
    p.add_argument("--samples", type=int, default=0)
    p.add_argument("--group-size", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-alpha", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--jobs", type=int, default=0, help="variants run side by side (default 1; 2 with --cpu-default)")
    p.add_argument("--only", default="", help="comma-separated variant names")
    p.add_argument("--work", default=os.path.join(ROOT, "bench", ".work", "ablation"))
    p.add_argument("--json")
    a = p.parse_args()
    if a.cpu_default:
        cpu_defaults(a)
    if not (a.teacher and a.init_from and (a.text or a.samples) and a.eval_text):
        p.error("needs --teacher, --init-from, training data (--text or --samples) and --eval-text (or --cpu-default)")
    variants = [v for v in VARIANTS if not a.only or v[0] in a.only.split(",")]
    if not a.only or "init" in a.only.split(","):
        variants = [START] + variants  # the starting point itself (0 steps), scored like the others
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=max(1, a.jobs or 1)) as ex:
        results = dict(zip([v[0] for v in variants], ex.map(lambda v: run_variant(a, *v), variants)))
    rows = []
    for name, gamma, weighting in variants:
        r = results[name]
        ev = {e["file"]: e for e in r.get("eval", [])}
        nll = sum(e["nll"] for e in ev.values()) / max(1, len(ev))
        rows.append({"variant": name, "gamma": gamma, "weighting": weighting, "perplexity": {k: round(v["perplexity"], 3) for k, v in ev.items()},
                     "mean_nll": round(nll, 5), "final_loss": r["history"][-1]["loss"] if r.get("history") else None,
                     "final_kl": r["history"][-1]["kl"] if r.get("history") else None, "budget": r.get("budget")})
    kd = next((r for r in rows if r["variant"] == "kd"), None)
    trained = [r for r in rows if r["variant"] != "init"]
    for r in rows:
        r["vs_kd"] = round(math.exp(r["mean_nll"] - kd["mean_nll"]) - 1, 4) if kd else None
    out = {"command": " ".join(["python3", "bench/distill/ablation.py", *sys.argv[1:]]), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "settings": {k: v for k, v in vars(a).items() if k not in ("json",)}, "seconds": round(time.time() - t0, 1), "rows": rows,
           "best": min(trained, key=lambda r: r["mean_nll"])["variant"] if trained else None}
    dev = "cpu" if a.device == "cpu" else a.device
    path = a.json or os.path.join(ROOT, "bench", "results", f"distill-ablation-{dev}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    files = list(rows[0]["perplexity"].keys()) if rows else []
    print("| variant | γ | weighting | " + " | ".join(f"ppl {f}" for f in files) + " | vs KD (geo. mean ppl) |")
    print("|---|---:|---|" + "---:|" * len(files) + "---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['gamma']} | {r['weighting']} | " + " | ".join(f"{r['perplexity'][f]:.2f}" for f in files) +
              (f" | {100 * r['vs_kd']:+.2f} % |" if r["vs_kd"] is not None else " | – |"))
    print(f"best: {out['best']}  ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
