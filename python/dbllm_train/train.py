"""Distillation loop: AdamW on the latent weights and (α1, α2) of every block matrix, linear warmup + cosine decay,
gradient accumulation, gradient clipping, checkpoint/resume that continues bit for bit (same data, same device and
thread count), progress lines with tokens/s and ETA, optional block-wise reconstruction before end-to-end DAD.

One optimizer step covers a global batch of `batch_size × grad_accum × world` sequences: rank r's micro-batch k of
step s is micro-batch (s·world + r)·grad_accum + k of one seeded stream, so the sequences of a step do not depend on
how they are split over processes. The loss is normalised over the whole global batch (Σ w·CE / Σ w, the sums
all-reduced), so N processes give the gradient of one process with N times the accumulation. The loss is computed
from the final hidden states in chunks of positions (dad.distill_chunks); the body's backward pass then runs once
per micro-batch (and DDP all-reduces the gradients during the last one)."""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import distributed as D
from .dad import auto_chunk, distill_chunks
from .device import autocast, fused_adamw_supported, maybe_compile, synchronize
from .model import LlamaModel
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


@dataclass
class Runtime:
    """Where and how a run computes; none of it changes what a step means (only its rounding)."""
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"  # fp32 | bf16 (autocast for the blocks' matrix products)
    loss_chunk: int = 0  # positions per loss chunk (0: auto)
    compile: bool = False
    dist: D.Dist = field(default_factory=D.Dist)
    zero: bool = False  # shard the optimizer state over the processes (ZeroRedundancyOptimizer)


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


def make_optimizer(student: LlamaModel, c: TrainConfig, device: torch.device = torch.device("cpu"), zero: bool = False):
    """AdamW(0.9, 0.95) with one group for the latent weights and one for the scales. `zero`: PyTorch's
    ZeroRedundancyOptimizer (ZeRO stage 1) — each of the N processes keeps the AdamW state of 1/N of the parameters
    and broadcasts what it updated, so the optimizer state (8 bytes per latent weight) is divided by N."""
    weights, scales = trainable_parameters(student)
    kw = {"fused": True} if fused_adamw_supported(device) else {}
    groups = [{"params": weights, "lr": c.lr, "weight_decay": c.weight_decay, "base_lr": c.lr},
              {"params": scales, "lr": c.lr_alpha, "weight_decay": 0.0, "base_lr": c.lr_alpha}]
    if zero:
        from torch.distributed.optim import ZeroRedundancyOptimizer
        opt = ZeroRedundancyOptimizer(groups[0]["params"], optimizer_class=torch.optim.AdamW, lr=c.lr, weight_decay=c.weight_decay,
                                      betas=(0.9, 0.95), eps=1e-8, **kw)
        opt.param_groups[0]["base_lr"] = c.lr
        opt.add_param_group({k: v for k, v in groups[1].items()})
        return opt
    return torch.optim.AdamW(groups, betas=(0.9, 0.95), eps=1e-8, **kw)


def trainable_state(student: LlamaModel) -> Dict[str, torch.Tensor]:
    """Latent weights and scales, on the CPU (checkpoints load on any device)."""
    out = {}
    for name, layer in student.fdb_layers():
        out[name] = layer.weight.detach().cpu().clone()
        out[name + ".alpha1"] = layer.alpha1.detach().cpu().clone()
        out[name + ".alpha2"] = layer.alpha2.detach().cpu().clone()
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
                             log: Callable[[str], None], rt: Optional[Runtime] = None) -> dict:
    """Optional first stage: each block in turn minimises ||block_S(x) − block_T(x)||² on the teacher's inputs x
    (the teacher's hidden states at that block), `blockwise_steps` AdamW steps per block on a fixed subset of the
    calibration data. Returns timing/loss stats. (Each process fits the same blocks on the same subset.)"""
    rt = rt or Runtime()
    t0 = time.time()
    n = min(data.shape[0], c.batch_size * max(1, c.grad_accum) * 2)
    toks = data[:n].to(rt.device)
    stats = []
    with torch.no_grad():
        x = F.embedding(toks, teacher.embed)
    for i, (tb, sb) in enumerate(zip(teacher.blocks, student.blocks)):
        with torch.no_grad(), autocast(rt.device, rt.precision):
            y = tb(x, teacher.rope, 0, None).float()
        params = [p for p in sb.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=c.blockwise_lr, betas=(0.9, 0.95), weight_decay=0.0)
        first = last = None
        for s in range(c.blockwise_steps):
            j = (s * c.batch_size) % n
            xb, yb = x[j:j + c.batch_size], y[j:j + c.batch_size]
            with autocast(rt.device, rt.precision):
                out = sb(xb, student.rope, 0, None)
            loss = F.mse_loss(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            first = float(loss) if first is None else first
            last = float(loss)
        stats.append({"block": i, "first": first, "last": last})
        if rt.dist.main:
            log(f"blockwise: block {i + 1}/{len(student.blocks)} mse {first:.3e} -> {last:.3e} ({time.time() - t0:.0f} s)")
        x = y
    return {"seconds": time.time() - t0, "blocks": stats}


def _flat(h: torch.Tensor) -> torch.Tensor:
    return h.reshape(-1, h.shape[-1])


@torch.no_grad()
def evaluate_kl(student: LlamaModel, teacher: LlamaModel, data: torch.Tensor, batch: int, rt: Optional[Runtime] = None) -> dict:
    """Mean CE and KL to the teacher over `data` (no gradient; positions chunked like training)."""
    rt = rt or Runtime()
    chunk = rt.loss_chunk or auto_chunk(student.cfg.vocabSize, rt.device)
    tot = {"ce": 0.0, "kl": 0.0, "n": 0.0}
    for s in range(0, data.shape[0], batch):
        x = data[s:s + batch].to(rt.device)
        with autocast(rt.device, rt.precision):
            sh, th = student.hidden(x), teacher.hidden(x)
        r = distill_chunks(_flat(sh).float(), _flat(th).float(), student.logits_from_hidden, teacher.logits_from_hidden, 0.0, "both", chunk)
        for k in tot:
            tot[k] += float(r[k])
    return {"ce": tot["ce"] / max(1.0, tot["n"]), "kl": tot["kl"] / max(1.0, tot["n"])}


class _Body(nn.Module):
    """The student's blocks as one module (embedding → final hidden states), what DDP wraps."""

    def __init__(self, m: LlamaModel):
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m.hidden(x)


def compile_blocks(model: LlamaModel, enabled: bool, log: Callable[[str], None]) -> None:
    """--compile: each block's forward through torch.compile (PyTorch ≥ 2.0; the blocks share one compiled graph)."""
    if not enabled:
        return
    for b in model.blocks:
        b.forward = maybe_compile(b.forward, True, log)


def _step_stats(sums: Dict[str, torch.Tensor]) -> dict:
    n = max(1.0, float(sums["n"]))
    return {"loss": float(sums["wce"] / sums["w"].clamp_min(1e-30)), "ce": float(sums["ce"]) / n, "kl": float(sums["kl"]) / n,
            "w_mean": float(sums["w"]) / n}


def train(student: LlamaModel, teacher: LlamaModel, data: torch.Tensor, c: TrainConfig, ckpt_path: Optional[str] = None,
          resume: bool = False, log: Callable[[str], None] = print, val: Optional[torch.Tensor] = None,
          stop_after: Optional[int] = None, extra_init: Optional[dict] = None, rt: Optional[Runtime] = None,
          time_budget: float = 0.0) -> dict:
    """Runs (or resumes) distillation for c.steps optimizer steps. `stop_after` ends the run early after that many
    steps in this call (tests use it to simulate an interrupted run); `time_budget` (seconds, 0 = none) ends it after
    the step that exceeds it. The student and teacher must already be on `rt.device`. Returns a summary."""
    rt = rt or Runtime()
    d = rt.dist
    torch.manual_seed(c.seed)
    opt = make_optimizer(student, c, rt.device, rt.zero and d.active)
    history: List[dict] = []
    start = 0
    extra: dict = {}
    if resume and ckpt_path and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=rt.device)
        load_trainable_state(student, ck["trainable"])
        opt.load_state_dict(ck["optimizer"])
        start = ck["step"]
        history = ck["history"]
        extra = ck.get("extra", {})
        torch.set_rng_state(ck["rng"].cpu())
        if d.main:
            log(f"resumed from {ckpt_path} at step {start}/{c.steps}")
    elif c.blockwise_steps > 0:
        extra["blockwise"] = blockwise_reconstruction(student, teacher, data, c, log, rt)
    extra.update(extra_init or {})
    body: nn.Module = _Body(student)
    if d.active:
        from torch.nn.parallel import DistributedDataParallel as DDP
        body = DDP(body, device_ids=[rt.device.index] if rt.device.type == "cuda" else None, broadcast_buffers=False)
    chunk = rt.loss_chunk or auto_chunk(student.cfg.vocabSize, rt.device)
    seq = data.shape[1]
    for m in (student, teacher):  # RoPE tables exist before the first (possibly compiled) forward pass
        m.rope.tables(seq, rt.device)
    micro_tokens = c.batch_size * seq
    tokens_per_step = micro_tokens * c.grad_accum * d.world
    t_start = t_prev = time.time()
    cpu_start = time.process_time()
    prior_seconds = extra.get("train_seconds", 0.0)
    done_here = 0
    step = start
    while step < c.steps:
        f = lr_factor(step, c)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * f
        opt.zero_grad(set_to_none=True)
        sums = None
        for k in range(c.grad_accum):
            x = micro_batch(data, (step * d.world + d.rank) * c.grad_accum + k, c.batch_size, c.seed).to(rt.device, non_blocking=True)
            with torch.no_grad(), autocast(rt.device, rt.precision):
                th = teacher.hidden(x)
            sync = contextlib.nullcontext() if (not d.active or k == c.grad_accum - 1) else body.no_sync()
            with sync:
                with autocast(rt.device, rt.precision):
                    sh = body(x)
                h = _flat(sh).detach().float().requires_grad_(True)
                r = distill_chunks(h, _flat(th).float(), student.logits_from_hidden, teacher.logits_from_hidden, c.gamma, c.weighting,
                                   chunk, grad_scale=1.0 / micro_tokens)
                sh.backward(h.grad.view(sh.shape).to(sh.dtype))
            sums = r if sums is None else {key: sums[key] + r[key] for key in sums}
            del x, th, sh, h
        packed = D.all_reduce_sum(torch.stack([sums[key] for key in ("wce", "w", "ce", "kl", "n")]), d)
        sums = dict(zip(("wce", "w", "ce", "kl", "n"), packed))
        # the gradients hold (1/world)·Σ_ranks Σ_micro ∂(Σ w·CE)/∂θ / micro_tokens: scale to ∂(Σ w·CE / Σ w)/∂θ
        factor = float(d.world * micro_tokens / float(sums["w"].clamp_min(1e-30)))
        params = [p for grp in opt.param_groups for p in grp["params"]]
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(factor)
        gnorm = float(torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)) if c.max_grad_norm > 0 else 0.0
        opt.step()
        step += 1
        done_here += 1
        agg = _step_stats(sums)
        synchronize(rt.device)
        now = time.time()
        step_s, t_prev = now - t_prev, now
        el = now - t_start
        rate = done_here * tokens_per_step / max(el, 1e-9)
        cpu = time.process_time() - cpu_start
        rec = {"step": step, **{k: round(v, 6) for k, v in agg.items()}, "lr": opt.param_groups[0]["lr"], "grad_norm": round(gnorm, 4),
               "tok_s": round(rate, 1), "step_s": round(step_s, 5), "cpu_s_per_1k_tok": round(1000 * cpu / (done_here * tokens_per_step), 2), "elapsed": round(prior_seconds + el, 1)}
        if val is not None and c.eval_every and (step % c.eval_every == 0 or step == c.steps):
            rec["val"] = evaluate_kl(student, teacher, val, c.batch_size, rt)
        history.append(rec)
        if d.main and c.log_every and (step % c.log_every == 0 or step == c.steps):
            eta = (c.steps - step) * el / done_here
            v = f"  val kl {rec['val']['kl']:.4f}" if "val" in rec else ""
            log(f"step {step}/{c.steps}  loss {agg['loss']:.4f}  kl {agg['kl']:.4f}  w {agg['w_mean']:.3f}  lr {rec['lr']:.2e}  "
                f"|g| {gnorm:.3f}  {rate:.1f} tok/s ({rec['cpu_s_per_1k_tok']:.0f} CPU-s/1k tok)  elapsed {_fmt_time(prior_seconds + el)}  ETA {_fmt_time(eta)}{v}")
        out_of_time = time_budget > 0 and el >= time_budget
        last = step == c.steps or (stop_after is not None and done_here >= stop_after) or out_of_time
        if ckpt_path and (last or (c.checkpoint_every and step % c.checkpoint_every == 0)):
            if hasattr(opt, "consolidate_state_dict"):  # ZeRO: every process hands its shard of the state to rank 0
                opt.consolidate_state_dict(to=0)
            if d.main:
                extra["train_seconds"] = prior_seconds + (time.time() - t_start)
                save_checkpoint(ckpt_path, step, student, opt, c, history, extra)
        if (stop_after is not None and done_here >= stop_after) or out_of_time:
            if out_of_time and d.main:
                log(f"time budget of {time_budget:.0f} s reached after step {step}/{c.steps}")
            break
    D.barrier(d)
    seconds = prior_seconds + (time.time() - t_start)
    return {"steps": step, "tokens": step * tokens_per_step, "train_seconds": seconds, "history": history,
            "blockwise": extra.get("blockwise")}
