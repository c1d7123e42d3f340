"""Distillation loop: AdamW on the latent weights and (α1, α2) of every block matrix, linear warmup + cosine decay,
gradient accumulation, gradient clipping, checkpoint/resume that continues bit for bit (same data, same thread
count), progress lines with tokens/s and ETA, optional block-wise reconstruction before end-to-end DAD."""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

from .dad import dad_loss
from .model import LlamaModel, rms_norm
from .student import trainable_parameters


@dataclass
class TrainConfig:
    steps: int = 100
    batch_size: int = 4  # sequences per micro-batch
    grad_accum: int = 1
    lr: float = 1e-4  # latent weights
    lr_alpha: float = 1e-4  # scales α1, α2
    weight_decay: float = 0.0
    warmup: int = 10
    min_lr_ratio: float = 0.0
    max_grad_norm: float = 1.0
    gamma: float = 1.0
    weighting: str = "both"  # both | teacher
    seed: int = 0
    checkpoint_every: int = 50
    log_every: int = 1
    eval_every: int = 0
    blockwise_steps: int = 0  # per block, before end-to-end
    blockwise_lr: float = 1e-4
    extra: Dict = field(default_factory=dict)


def lr_factor(step: int, c: TrainConfig) -> float:
    """Linear warmup over `warmup` steps, then cosine from 1 to min_lr_ratio at `steps`."""
    if c.warmup > 0 and step < c.warmup:
        return (step + 1) / c.warmup
    span = max(1, c.steps - c.warmup)
    t = min(1.0, (step - c.warmup) / span)
    return c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def micro_batch(data: torch.Tensor, m: int, batch: int, seed: int) -> torch.Tensor:
    """Micro-batch number m of an endless stream of epochs, each a permutation seeded by (seed, epoch)."""
    N = data.shape[0]
    idx = []
    pos = m * batch
    while len(idx) < batch:
        epoch, off = divmod(pos, N)
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(seed * 1000003 + epoch))
        take = min(batch - len(idx), N - off)
        idx.extend(perm[off:off + take].tolist())
        pos += take
    return data[torch.tensor(idx)]


def make_optimizer(student: LlamaModel, c: TrainConfig) -> torch.optim.AdamW:
    weights, scales = trainable_parameters(student)
    return torch.optim.AdamW([
        {"params": weights, "lr": c.lr, "weight_decay": c.weight_decay, "base_lr": c.lr},
        {"params": scales, "lr": c.lr_alpha, "weight_decay": 0.0, "base_lr": c.lr_alpha},
    ], betas=(0.9, 0.95), eps=1e-8)


def trainable_state(student: LlamaModel) -> Dict[str, torch.Tensor]:
    out = {}
    for name, layer in student.fdb_layers():
        out[name] = layer.weight.detach().clone()
        out[name + ".alpha1"] = layer.alpha1.detach().clone()
        out[name + ".alpha2"] = layer.alpha2.detach().clone()
    return out


def load_trainable_state(student: LlamaModel, state: Dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, layer in student.fdb_layers():
            layer.weight.copy_(state[name])
            layer.alpha1.copy_(state[name + ".alpha1"])
            layer.alpha2.copy_(state[name + ".alpha2"])


def save_checkpoint(path: str, step: int, student: LlamaModel, opt, c: TrainConfig, history: List[dict], extra: dict) -> None:
    tmp = path + ".partial"
    torch.save({"step": step, "trainable": trainable_state(student), "optimizer": opt.state_dict(), "config": asdict(c),
                "history": history, "rng": torch.get_rng_state(), "extra": extra}, tmp)
    os.replace(tmp, path)


def _fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def blockwise_reconstruction(student: LlamaModel, teacher: LlamaModel, data: torch.Tensor, c: TrainConfig,
                             log: Callable[[str], None]) -> dict:
    """Optional first stage: each block in turn minimises ||block_S(x) − block_T(x)||² on the teacher's inputs x
    (the teacher's hidden states at that block), `blockwise_steps` AdamW steps per block on a fixed subset of the
    calibration data. Returns timing/loss stats."""
    t0 = time.time()
    n = min(data.shape[0], c.batch_size * max(1, c.grad_accum) * 2)
    toks = data[:n]
    stats = []
    with torch.no_grad():
        x = F.embedding(toks, teacher.embed)
    for i, (tb, sb) in enumerate(zip(teacher.blocks, student.blocks)):
        with torch.no_grad():
            y = tb(x, teacher.rope, 0, None)
        params = [p for p in sb.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=c.blockwise_lr, betas=(0.9, 0.95), weight_decay=0.0)
        first = last = None
        for s in range(c.blockwise_steps):
            j = (s * c.batch_size) % n
            xb, yb = x[j:j + c.batch_size], y[j:j + c.batch_size]
            out = sb(xb, student.rope, 0, None)
            loss = F.mse_loss(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            first = float(loss) if first is None else first
            last = float(loss)
        stats.append({"block": i, "first": first, "last": last})
        log(f"blockwise: block {i + 1}/{len(student.blocks)} mse {first:.3e} -> {last:.3e} ({time.time() - t0:.0f} s)")
        x = y
    return {"seconds": time.time() - t0, "blocks": stats}


@torch.no_grad()
def evaluate_kl(student: LlamaModel, teacher: LlamaModel, data: torch.Tensor, batch: int) -> dict:
    tot = {"ce": 0.0, "kl": 0.0}
    n = 0
    for s in range(0, data.shape[0], batch):
        x = data[s:s + batch]
        _, st = dad_loss(student(x), teacher(x), 0.0)
        k = x.shape[0]
        tot["ce"] += st["ce"] * k
        tot["kl"] += st["kl"] * k
        n += k
    return {k: v / max(1, n) for k, v in tot.items()}


def train(student: LlamaModel, teacher: LlamaModel, data: torch.Tensor, c: TrainConfig, ckpt_path: Optional[str] = None,
          resume: bool = False, log: Callable[[str], None] = print, val: Optional[torch.Tensor] = None,
          stop_after: Optional[int] = None, extra_init: Optional[dict] = None) -> dict:
    """Runs (or resumes) distillation for c.steps optimizer steps. `stop_after` ends the run early after that many
    steps in this call (tests use it to simulate an interrupted run). Returns a summary."""
    torch.manual_seed(c.seed)
    opt = make_optimizer(student, c)
    history: List[dict] = []
    start = 0
    extra: dict = {}
    if resume and ckpt_path and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        load_trainable_state(student, ck["trainable"])
        opt.load_state_dict(ck["optimizer"])
        start = ck["step"]
        history = ck["history"]
        extra = ck.get("extra", {})
        torch.set_rng_state(ck["rng"])
        log(f"resumed from {ckpt_path} at step {start}/{c.steps}")
    elif c.blockwise_steps > 0:
        extra["blockwise"] = blockwise_reconstruction(student, teacher, data, c, log)
    extra.update(extra_init or {})
    tokens_per_step = c.batch_size * c.grad_accum * data.shape[1]
    t_start = time.time()
    cpu_start = time.process_time()
    prior_seconds = extra.get("train_seconds", 0.0)
    done_here = 0
    step = start
    while step < c.steps:
        f = lr_factor(step, c)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * f
        opt.zero_grad(set_to_none=True)
        agg = {"loss": 0.0, "ce": 0.0, "kl": 0.0, "w_mean": 0.0}
        for k in range(c.grad_accum):
            x = micro_batch(data, step * c.grad_accum + k, c.batch_size, c.seed)
            with torch.no_grad():
                t_logits = teacher(x)
            s_logits = student(x)
            loss, st = dad_loss(s_logits, t_logits, c.gamma, c.weighting)
            (loss / c.grad_accum).backward()
            agg["loss"] += float(loss) / c.grad_accum
            for key in ("ce", "kl", "w_mean"):
                agg[key] += st[key] / c.grad_accum
            del s_logits, t_logits, loss
        params = [p for grp in opt.param_groups for p in grp["params"]]
        gnorm = float(torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)) if c.max_grad_norm > 0 else 0.0
        opt.step()
        step += 1
        done_here += 1
        el = time.time() - t_start
        rate = done_here * tokens_per_step / max(el, 1e-9)
        cpu = time.process_time() - cpu_start
        rec = {"step": step, **{k: round(v, 6) for k, v in agg.items()}, "lr": opt.param_groups[0]["lr"], "grad_norm": round(gnorm, 4),
               "tok_s": round(rate, 1), "cpu_s_per_1k_tok": round(1000 * cpu / (done_here * tokens_per_step), 2), "elapsed": round(prior_seconds + el, 1)}
        if val is not None and c.eval_every and (step % c.eval_every == 0 or step == c.steps):
            rec["val"] = evaluate_kl(student, teacher, val, c.batch_size)
        history.append(rec)
        if c.log_every and (step % c.log_every == 0 or step == c.steps):
            eta = (c.steps - step) * el / done_here
            v = f"  val kl {rec['val']['kl']:.4f}" if "val" in rec else ""
            log(f"step {step}/{c.steps}  loss {agg['loss']:.4f}  kl {agg['kl']:.4f}  w {agg['w_mean']:.3f}  lr {rec['lr']:.2e}  "
                f"|g| {gnorm:.3f}  {rate:.1f} tok/s ({rec['cpu_s_per_1k_tok']:.0f} CPU-s/1k tok)  elapsed {_fmt_time(prior_seconds + el)}  ETA {_fmt_time(eta)}{v}")
        last = step == c.steps or (stop_after is not None and done_here >= stop_after)
        if ckpt_path and (last or (c.checkpoint_every and step % c.checkpoint_every == 0)):
            extra["train_seconds"] = prior_seconds + (time.time() - t_start)
            save_checkpoint(ckpt_path, step, student, opt, c, history, extra)
        if stop_after is not None and done_here >= stop_after:
            break
    seconds = prior_seconds + (time.time() - t_start)
    return {"steps": step, "tokens": step * tokens_per_step, "train_seconds": seconds, "history": history,
            "blockwise": extra.get("blockwise")}
