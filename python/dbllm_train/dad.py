"""Deviation-Aware Distillation (DAD) loss, as research/method.md defines it for this project (the paper gives no
formula):

    w_i = (H_T,i · H_S,i / log²V)^γ          (normalised teacher and student entropies, stop-gradient)
    L   = Σ_i w_i · CE(p_T,i, p_S,i) / Σ_i w_i,   CE(p, q) = −Σ_v p_v log q_v

γ = 0 gives w_i = 1: plain knowledge distillation (token-mean cross-entropy to the teacher's distribution).
Other readings of "deviation-aware", for the ablation (all stop-gradient, all normalised by Σ w):
  weighting="teacher":  (H_T,i / log V)^γ                 the teacher's ambiguity alone
  weighting="gap":      (|H_T,i − H_S,i| / log V)^γ       how far the student's confidence deviates from the teacher's
  weighting="excess":   (KL(p_T,i ‖ p_S,i) / log V)^γ     the student's excess loss over the teacher on token i

`dad_loss` works on full logits (the reference, used by the tests); `distill_chunks` computes the same loss and its
gradient from hidden states, one chunk of positions at a time, so no more than one chunk of [positions × vocabulary]
float32 exists at once (the vocabulary is 49k–152k; a full batch of logits would be tens of GiB).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F

WEIGHTINGS = ("both", "teacher", "gap", "excess")


def _f(x: torch.Tensor) -> torch.Tensor:
    """float32 for training (float64 stays float64, for tests)."""
    return x if x.dtype == torch.float64 else x.float()


def entropy_from_logp(logp: torch.Tensor) -> torch.Tensor:
    return -(logp.exp() * logp).sum(dim=-1)


def weights_from(ht: torch.Tensor, hs: torch.Tensor, kl: torch.Tensor, V: int, gamma: float, weighting: str) -> torch.Tensor:
    """w_i from the per-token teacher entropy, student entropy and KL (nats), per the definitions above."""
    lv = math.log(V)
    if weighting == "both":
        base = (ht / lv) * (hs / lv)
    elif weighting == "teacher":
        base = ht / lv
    elif weighting == "gap":
        base = (ht - hs).abs() / lv
    elif weighting == "excess":
        base = kl / lv
    else:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    return base.clamp_min(0).pow(gamma)


def token_weights(t_logp: torch.Tensor, s_logp: torch.Tensor, gamma: float, weighting: str = "both") -> torch.Tensor:
    """w_i of the definition above (detached); inputs are log-probabilities (..., V)."""
    with torch.no_grad():
        t_logp, s_logp = t_logp.detach(), s_logp.detach()
        ht = entropy_from_logp(t_logp)
        hs = entropy_from_logp(s_logp)
        kl = -(t_logp.exp() * s_logp).sum(dim=-1) - ht
        return weights_from(ht, hs, kl, t_logp.shape[-1], gamma, weighting)


def dad_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, gamma: float = 1.0, weighting: str = "both",
             mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, dict]:
    """The DAD loss over all positions (optionally masked); returns (loss, stats)."""
    s_logp = F.log_softmax(_f(student_logits), dim=-1)
    t_logp = F.log_softmax(_f(teacher_logits), dim=-1)
    ce = -(t_logp.exp() * s_logp).sum(dim=-1)
    w = token_weights(t_logp, s_logp, gamma, weighting)
    if mask is not None:
        w = w * mask.to(w.dtype)
    loss = (w * ce).sum() / w.sum().clamp_min(1e-30)
    with torch.no_grad():
        kl = (ce - entropy_from_logp(t_logp))
        m = mask.to(ce.dtype) if mask is not None else torch.ones_like(ce)
        stats = {"ce": float((ce * m).sum() / m.sum()), "kl": float((kl * m).sum() / m.sum()), "w_mean": float((w * m).sum() / m.sum())}
    return loss, stats


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Plain KD: mean over tokens of CE(p_T, p_S) (what dad_loss gives at γ = 0)."""
    s_logp = F.log_softmax(_f(student_logits), dim=-1)
    t_p = F.softmax(_f(teacher_logits), dim=-1)
    return -(t_p * s_logp).sum(dim=-1).mean()


def auto_chunk(vocab: int, device: torch.device) -> int:
    """Positions per loss chunk: about 2^27 logits (512 MiB of float32) on a GPU, 2^23 on a CPU."""
    budget = 1 << (27 if device.type == "cuda" else 23)
    return max(1, budget // max(1, vocab))


def distill_chunks(s_hidden: torch.Tensor, t_hidden: torch.Tensor, s_logits: Callable[[torch.Tensor], torch.Tensor],
                   t_logits: Callable[[torch.Tensor], torch.Tensor], gamma: float, weighting: str, chunk: int,
                   grad_scale: Optional[float] = None) -> Dict[str, torch.Tensor]:
    """The DAD terms of a batch of positions, one chunk at a time.

    s_hidden, t_hidden: (N, D) final hidden states of student and teacher; `s_logits`/`t_logits` map a chunk of them
    to logits. When `grad_scale` is given, s_hidden must require grad and gets `grad_scale · ∂(Σ_i w_i·CE_i)/∂h`
    accumulated in its .grad: the gradient of the CE with respect to the student's logits is p_S − p_T (the
    teacher's distribution sums to one), scaled by the stop-gradient weight w_i, and flows back through the head.
    Dividing by Σ w afterwards gives the gradient of L = Σ w·CE / Σ w exactly, also when Σ w spans several
    micro-batches or processes.

    Returns float64 sums over the positions: wce (Σ w·CE), w (Σ w), ce, kl, n."""
    N = s_hidden.shape[0]
    dev = s_hidden.device
    sums = {k: torch.zeros((), dtype=torch.float64, device=dev) for k in ("wce", "w", "ce", "kl")}
    for s in range(0, N, max(1, chunk)):
        e = min(N, s + chunk)
        with torch.no_grad():
            t_logp = F.log_softmax(_f(t_logits(t_hidden[s:e])), dim=-1)
        if grad_scale is not None:
            with torch.enable_grad():
                z = s_logits(s_hidden[s:e])
        else:
            with torch.no_grad():
                z = s_logits(s_hidden[s:e])
        with torch.no_grad():
            s_logp = F.log_softmax(_f(z), dim=-1)
            p_t = t_logp.exp()
            ce = -(p_t * s_logp).sum(dim=-1)
            ht = -(p_t * t_logp).sum(dim=-1)
            p_s = s_logp.exp()
            hs = -(p_s * s_logp).sum(dim=-1)
            kl = ce - ht
            w = weights_from(ht, hs, kl, t_logp.shape[-1], gamma, weighting)
            sums["wce"] += (w * ce).sum().double()
            sums["w"] += w.sum().double()
            sums["ce"] += ce.sum().double()
            sums["kl"] += kl.sum().double()
            if grad_scale is not None:
                g = p_s.sub_(p_t).mul_((w * grad_scale)[:, None])
            del p_t, t_logp
        if grad_scale is not None:
            z.backward(g.to(z.dtype))
        del z, s_logp
    sums["n"] = torch.tensor(float(N), dtype=torch.float64, device=dev)
    return sums
