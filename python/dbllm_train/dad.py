"""Deviation-Aware Distillation (DAD) loss, as research/method.md defines it for this project (the paper gives no
formula):

    w_i = (H_T,i · H_S,i / log²V)^γ          (normalised teacher and student entropies, stop-gradient)
    L   = Σ_i w_i · CE(p_T,i, p_S,i) / Σ_i w_i,   CE(p, q) = −Σ_v p_v log q_v

γ = 0 gives w_i = 1: plain knowledge distillation (token-mean cross-entropy to the teacher's distribution).
Variants for ablation: `weighting="teacher"` uses (H_T,i / log V)^γ alone.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def _f(x: torch.Tensor) -> torch.Tensor:
    """float32 for training (float64 stays float64, for tests)."""
    return x if x.dtype == torch.float64 else x.float()


def entropy_from_logp(logp: torch.Tensor) -> torch.Tensor:
    return -(logp.exp() * logp).sum(dim=-1)


def token_weights(t_logp: torch.Tensor, s_logp: torch.Tensor, gamma: float, weighting: str = "both") -> torch.Tensor:
    """w_i of the definition above (detached); inputs are log-probabilities (..., V)."""
    V = t_logp.shape[-1]
    with torch.no_grad():
        ht = entropy_from_logp(t_logp.detach()) / math.log(V)
        if weighting == "both":
            hs = entropy_from_logp(s_logp.detach()) / math.log(V)
            base = ht * hs
        elif weighting == "teacher":
            base = ht
        else:
            raise ValueError("weighting must be both or teacher")
        return base.clamp_min(0).pow(gamma)


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
