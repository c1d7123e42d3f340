#!/usr/bin/env python3
"""Training throughput of the distillation trainer: tokens/s of full training steps (teacher forward + student
forward/backward + chunked DAD loss + AdamW step, exactly what `dbllm_train distill` runs per step) on random weights
of a real model shape, with the peak memory, on the device at hand.

  python3 bench/distill/throughput.py                                  # SmolLM2-135M shape, auto device, batches 4,8
  python3 bench/distill/throughput.py --device cuda --batch 32,64,128,256 --compile
  npm run bench -- distill-throughput                                  # the same, through the bench runner

Each configuration: `--warmup` steps, then `--steps` timed steps; tokens/s is the median over the timed steps
(tokens per step / step time, the device synchronised after each step). A configuration that runs out of memory is
recorded as such and the next one runs. Results: bench/results/distill-throughput-<device>.json (or --json PATH).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402

from dbllm_train.device import (describe, peak_memory_bytes, reset_peak_memory, resolve_device, resolve_precision,  # noqa: E402
                                setup_matmul, synchronize)
from dbllm_train.model import build_teacher  # noqa: E402
from dbllm_train.student import build_student  # noqa: E402
from dbllm_train.synthetic import absmax_init, random_tensors, shape_config  # noqa: E402
from dbllm_train.train import Runtime, TrainConfig, compile_blocks, train  # noqa: E402


def log(msg: str) -> None:
    sys.stderr.write(f"[throughput {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def measure(student, teacher, cfg, rt: Runtime, batch: int, seq: int, steps: int, warmup: int, gamma: float, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    data = torch.randint(0, cfg.vocabSize, (batch * (steps + warmup), seq), generator=g)
    tc = TrainConfig(steps=steps + warmup, batch_size=batch, grad_accum=1, lr=1e-5, lr_alpha=1e-5, warmup=0, gamma=gamma,
                     checkpoint_every=0, log_every=0, seed=seed)
    reset_peak_memory(rt.device)
    t0 = time.time()
    r = train(student, teacher, data, tc, None, log=lambda s: None, rt=rt)
    all_times = [h["step_s"] for h in r["history"]]
    times = all_times[warmup:]
    tok = batch * seq
    med = statistics.median(times)
    return {"batch": batch, "seq_len": seq, "tokens_per_step": tok, "step_seconds": [round(t, 4) for t in times],
            "median_step_s": round(med, 4), "tokens_per_s": round(tok / med, 1), "peak_memory_bytes": peak_memory_bytes(rt.device),
            "warmup_seconds": round(sum(all_times[:warmup]), 2), "wall_s": round(time.time() - t0, 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="smollm2-135m", help="smollm2-135m (default), tinyllama-1.1b or tiny")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    p.add_argument("--batch", default="", help="comma-separated sequences per step (default 4,8 on CPU, 32,64,128 on CUDA)")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=0, help="timed steps per configuration (default 3 on CPU, 6 on CUDA)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--group-size", type=int, default=64)
    p.add_argument("--gamma", type=float, default=1.0)
    p.add_argument("--compile", action="store_true", help="also measure with torch.compile (PyTorch ≥ 2.0)")
    p.add_argument("--compile-batch", default="", help="batches to measure compiled (default: the same as --batch)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", help="result file (default bench/results/distill-throughput-<device>.json)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    setup_matmul(device)
    precision = resolve_precision(a.precision, device)
    batches = [int(b) for b in (a.batch or ("32,64,128" if device.type == "cuda" else "4,8")).split(",")]
    steps = a.steps or (6 if device.type == "cuda" else 3)
    cfg = shape_config(a.shape)
    log(f"{a.shape}: building random teacher and student on {describe(device)}, precision {precision}")
    t = random_tensors(cfg, 0)
    teacher = build_teacher(cfg, t).to(device)
    student = build_student(cfg, t, absmax_init(cfg, t, a.group_size), a.group_size).to(device)
    del t
    params = sum(p.numel() for p in student.parameters() if p.requires_grad)
    rows = []
    modes = [False, True] if a.compile else [False]
    for compiled in modes:
        if compiled:
            compile_blocks(student, True, log)
            compile_blocks(teacher, True, log)
        rt = Runtime(device=device, precision=precision)
        for b in ([int(x) for x in a.compile_batch.split(",")] if compiled and a.compile_batch else batches):
            try:
                r = measure(student, teacher, cfg, rt, b, a.seq_len, steps, a.warmup, a.gamma, 1)
            except Exception as e:  # out of memory, or a compiler failure: recorded, and the next configuration runs
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                oom = "out of memory" in str(e).lower()
                if not (oom or compiled):
                    raise
                r = {"batch": b, "seq_len": a.seq_len, "error": "out of memory" if oom else f"{type(e).__name__}: {str(e)[:300]}"}
            r["compiled"] = compiled
            rows.append(r)
            if "tokens_per_s" in r:
                log(f"batch {b} x {a.seq_len}{' compiled' if compiled else ''}: {r['tokens_per_s']:.0f} tok/s "
                    f"(median step {r['median_step_s'] * 1000:.0f} ms), peak {r['peak_memory_bytes'] / 2 ** 30:.2f} GiB")
            else:
                log(f"batch {b} x {a.seq_len}{' compiled' if compiled else ''}: {r['error']}")
    out = {"shape": a.shape, "trainable_parameters": params, "device": describe(device), "precision": precision,
           "torch": torch.__version__, "host": platform.node(), "threads": torch.get_num_threads(), "group_size": a.group_size,
           "gamma": a.gamma, "command": " ".join(["python3", "bench/distill/throughput.py", *sys.argv[1:]]),
           "date": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    path = a.json or os.path.join(ROOT, "bench", "results", f"distill-throughput-{device.type}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    best = max((r for r in rows if "tokens_per_s" in r), key=lambda r: r["tokens_per_s"], default=None)
    print(json.dumps({"best": best and {k: best[k] for k in ("batch", "compiled", "tokens_per_s", "peak_memory_bytes")}, "file": path}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
