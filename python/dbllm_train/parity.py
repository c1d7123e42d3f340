"""`python -m dbllm_train parity-fixture`: what tests/trainer-parity.test.ts needs to check the runtime against the
trainer — a tiny teacher's untrained FDB student (must equal `dbllm quantize` byte for byte), the same student after
a few distillation steps as a .dbllm, and the PyTorch student's logits on a fixed token sequence (the runtime's
activation quantization simulated)."""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch


def parity_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--teacher", required=True)
    p.add_argument("--out", required=True, help="directory for untrained.dbllm, student.dbllm, logits.json")
    p.add_argument("--group-size", type=int, default=64, choices=[64, 128])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--tokens", type=int, default=48, help="length of the fixed token sequence")
    p.add_argument("--seed", type=int, default=0)
    return p


def run_parity(a: argparse.Namespace) -> dict:
    from .cli import load_runtime_model
    from .data import sample_from_teacher
    from .export import export_dbllm
    from .loaders import load_teacher
    from .model import build_teacher
    from .student import build_student, fdb_init
    from .train import TrainConfig, train

    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    T = load_teacher(a.teacher)
    cfg = T.config
    teacher = build_teacher(cfg, T.tensors)
    init = fdb_init(cfg, T.tensors, a.group_size, "fdb")
    quant = {"method": "fdb", "group_size": a.group_size, "embed": "q8", "head": "q8", "activation_aware": False}
    untrained = build_student(cfg, T.tensors, init, a.group_size)
    export_dbllm(os.path.join(a.out, "untrained.dbllm"), untrained, T.tensors, T.tokenizer, quant, {"tool": "parity-fixture"})

    student = build_student(cfg, T.tensors, init, a.group_size)
    before = [(l.binaries()[0].clone(), l.binaries()[1].clone()) for _, l in student.fdb_layers()]
    data = sample_from_teacher(teacher, 8, 32, 1.0, a.seed, 8)
    summary = train(student, teacher, data, TrainConfig(steps=a.steps, batch_size=2, lr=3e-3, lr_alpha=3e-3, warmup=0, seed=a.seed,
                                                        checkpoint_every=0, log_every=0, gamma=1.0), None, log=lambda s: None)
    path = os.path.join(a.out, "student.dbllm")
    export_dbllm(path, student, T.tensors, T.tokenizer, dict(quant, method="fdb+dad", gamma=1.0), {"tool": "parity-fixture", "steps": a.steps})
    changed = sum(int((b1 != l.binaries()[0]).sum() + (b2 != l.binaries()[1]).sum()) for (b1, b2), (_, l) in zip(before, student.fdb_layers()))
    total = sum(2 * l.weight.numel() for _, l in student.fdb_layers())

    rng = np.random.default_rng(a.seed + 1)
    tokens = rng.integers(0, cfg.vocabSize, a.tokens).tolist()
    x = torch.tensor(tokens)[None]
    with torch.no_grad():
        logits = student(x)[0]
        reloaded, _ = load_runtime_model(path)
        relogits = reloaded(x)[0]
        tlogits = teacher(x)[0]
    out = {
        "tokens": tokens, "vocab": cfg.vocabSize, "logits": logits.reshape(-1).tolist(),
        "teacher_logits": tlogits.reshape(-1).tolist(),
        "reload_max_abs_diff": float((logits - relogits).abs().max()), "changed_bits": changed, "total_bits": total,
        "losses": [h["loss"] for h in summary["history"]], "seconds": round(time.time() - t0, 2),
    }
    with open(os.path.join(a.out, "logits.json"), "w") as f:
        json.dump(out, f)
    return out
