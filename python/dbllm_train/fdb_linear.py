"""The FDB linear layer for quantization-aware training, and the runtime's activation quantizers.

Weights: ŵ = α1·b1 + α2·b2 per (row, group of g input columns), b1, b2 ∈ {0, 1}. The binaries come from the
latent float weights by the assignment rule of research/method.md — each latent weight goes to the nearest of
the four levels {0, α1, α2, α1+α2} (ties to the first in that order, exactly as src/quant/fdb.ts `assign`) — and
are recomputed at every forward pass from the current latent weights and scales.

Gradients: α1 and α2 get ordinary gradients (∂ŵ/∂α1 = b1, ∂ŵ/∂α2 = b2, binaries held fixed); the latent
weights get the straight-through estimator: ∂ŵ/∂w = 1 ("identity"), or 1 only inside [min level, max level] of
their group and 0 outside ("clipped"). Forward values are exactly α1·b1 + α2·b2 (the STE is written as
ŵ_q + (w − w.detach()), which adds an exact zero).

Activations: the runtime's fdb2 kernels quantize each input row per group of g to int8, s = max|x|/127 (f32),
q = round-half-even(x·(1/s)) clamped to ±127 (assembly/fdb-common.ts quantize_act_i8); the q8 head quantizes
per 32 to 7 bits, s = max|x|/63 (assembly/q8.ts quantize_act_q7). `fake_quant_act` computes q·s with the same
f32 operations (straight-through gradient), so the student sees the integers the runtime multiplies.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fake_quant_act(x: torch.Tensor, g: int, qmax: int = 127) -> torch.Tensor:
    """Per-group symmetric quantization of the last dimension, as the runtime does it (f32 throughout):
    s = max|x|/qmax, q = round(x·(1/s)) ∈ [−qmax, qmax], returns q·s with a straight-through gradient."""
    shape = x.shape
    K = shape[-1]
    xg = x.detach().float().reshape(*shape[:-1], K // g, g)
    m = xg.abs().amax(dim=-1, keepdim=True)
    s = m / qmax
    inv = torch.where(s > 0, 1.0 / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(s))
    q = torch.round(xg * inv).clamp_(-qmax, qmax)
    xq = (q * s).reshape(shape).to(x.dtype)
    if not x.requires_grad:
        return xq
    return xq + (x - x.detach())


def assign_levels(w: torch.Tensor, a1: torch.Tensor, a2: torch.Tensor):
    """Nearest of 0, α1, α2, α1+α2 (ties to the first), elementwise with broadcasting; returns b1, b2 as the
    dtype of w (0/1)."""
    l3 = a1 + a2
    best = w * w
    b1 = torch.zeros_like(w)
    b2 = torch.zeros_like(w)
    for c1, c2, lvl in ((1.0, 0.0, a1), (0.0, 1.0, a2), (1.0, 1.0, l3)):
        d = w - lvl
        d = d * d
        m = d < best
        best = torch.where(m, d, best)
        b1 = torch.where(m, torch.full_like(w, c1), b1)
        b2 = torch.where(m, torch.full_like(w, c2), b2)
    return b1, b2


class FDBLinear(nn.Module):
    """y = x̃ · ŵᵀ (+ bias), ŵ = α1·b1 + α2·b2 per group of g input columns, x̃ = int8-quantized x (optional)."""

    def __init__(self, weight: torch.Tensor, group: int, alpha1: torch.Tensor, alpha2: torch.Tensor,
                 bias: Optional[torch.Tensor] = None, act_quant: bool = True, ste: str = "identity", dtype=torch.float32):
        super().__init__()
        out_f, in_f = weight.shape
        if in_f % group:
            raise ValueError(f"{in_f} input features are not a multiple of the group size {group}")
        if ste not in ("identity", "clipped"):
            raise ValueError("ste must be identity or clipped")
        self.group = group
        self.act_quant = act_quant
        self.ste = ste
        self.weight = nn.Parameter(weight.detach().clone().to(dtype))
        self.alpha1 = nn.Parameter(alpha1.detach().clone().to(dtype).reshape(out_f, in_f // group))
        self.alpha2 = nn.Parameter(alpha2.detach().clone().to(dtype).reshape(out_f, in_f // group))
        if bias is not None:
            self.register_buffer("bias", bias.detach().clone().to(dtype))
        else:
            self.bias = None

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    @property
    def in_features(self) -> int:
        return self.weight.shape[1]

    def grouped(self) -> torch.Tensor:
        return self.weight.reshape(self.out_features, -1, self.group)

    def binaries(self):
        """Current (b1, b2), shape (out, in), float 0/1."""
        with torch.no_grad():
            b1, b2 = assign_levels(self.grouped(), self.alpha1[..., None], self.alpha2[..., None])
        return b1.reshape(self.weight.shape), b2.reshape(self.weight.shape)

    def quantized_weight(self) -> torch.Tensor:
        """ŵ with gradients to α (ordinary) and to the latent weights (straight-through)."""
        w = self.grouped()
        with torch.no_grad():
            b1, b2 = assign_levels(w, self.alpha1[..., None], self.alpha2[..., None])
        wq = self.alpha1[..., None] * b1 + self.alpha2[..., None] * b2
        if self.ste == "identity":
            wq = wq + (w - w.detach())
        else:
            with torch.no_grad():
                lv = torch.stack([torch.zeros_like(self.alpha1), self.alpha1, self.alpha2, self.alpha1 + self.alpha2])
                lo, hi = lv.amin(0)[..., None], lv.amax(0)[..., None]
                inside = ((w >= lo) & (w <= hi)).to(w.dtype)
            wq = wq + inside * (w - w.detach())
        return wq.reshape(self.weight.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_quant:
            x = fake_quant_act(x, self.group, 127)
        return F.linear(x, self.quantized_weight(), self.bias)

    @torch.no_grad()
    def round_scales_f16(self) -> None:
        """Rounds α to f16 (the stored precision); the binaries follow at the next forward pass."""
        for p in (self.alpha1, self.alpha2):
            p.copy_(p.to(torch.float16).float())

    @torch.no_grad()
    def export(self):
        """(b1, b2, α1, α2) as numpy: binaries of the latent weights under the f16-rounded scales."""
        a1 = self.alpha1.to(torch.float16).float()
        a2 = self.alpha2.to(torch.float16).float()
        b1, b2 = assign_levels(self.grouped(), a1[..., None], a2[..., None])
        return (b1.reshape(self.weight.shape).to(torch.uint8).numpy(), b2.reshape(self.weight.shape).to(torch.uint8).numpy(),
                a1.numpy().astype(np.float32), a2.numpy().astype(np.float32))


class FrozenLinear(nn.Module):
    """A float linear layer that is not trained (teacher weights; q8 head of the student)."""

    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None, act_quant_group: int = 0, act_qmax: int = 127):
        super().__init__()
        self.register_buffer("weight", weight.detach().float().contiguous())
        if bias is not None:
            self.register_buffer("bias", bias.detach().float())
        else:
            self.bias = None
        self.act_quant_group = act_quant_group
        self.act_qmax = act_qmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_quant_group:
            x = fake_quant_act(x, self.act_quant_group, self.act_qmax)
        return F.linear(x, self.weight, self.bias)
