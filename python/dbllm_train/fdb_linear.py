"""The FDB linear layer for quantization-aware training, and the runtime's activation quantizers.

Weights: ŵ = α1·b1 + α2·b2 per (row, group of g input columns), b1, b2 ∈ {0, 1}. The binaries come from the
latent float weights by the assignment rule of research/method.md — each latent weight goes to the nearest of
the four levels {0, α1, α2, α1+α2} (ties to the first in that order, exactly as src/quant/fdb.ts `assign`) — and
are recomputed at every forward pass from the current latent weights and scales.

Gradients: α1 and α2 get ordinary gradients (∂ŵ/∂α1 = b1, ∂ŵ/∂α2 = b2, binaries held fixed); the latent
weights get the straight-through estimator: ∂ŵ/∂w = 1 ("identity"), or 1 only inside [min level, max level] of
their group and 0 outside ("clipped"). Forward values are exactly α1·b1 + α2·b2 (`_FDBWeight`, an autograd function
with these gradients written out).

Activations: the runtime's fdb2 kernels quantize each input row per group of g to int8, s = max|x|/127 (f32),
q = round-half-even(x·(1/s)) clamped to ±127 (assembly/fdb-common.ts quantize_act_i8); the q8 head quantizes
per 32 to 7 bits, s = max|x|/63 (assembly/q8.ts quantize_act_q7). `fake_quant_act` computes q·s with the same
f32 operations (straight-through gradient), so the student sees the integers the runtime multiplies. Layers that
read the same activations (q/k/v, gate/up) share one quantized copy (`shared_input`): the runtime quantizes the
same row identically for each of them.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _quantize_groups(x: torch.Tensor, g: int, qmax: int) -> torch.Tensor:
    shape = x.shape
    xg = x.float().reshape(*shape[:-1], shape[-1] // g, g)
    s = xg.abs().amax(dim=-1, keepdim=True) / qmax
    inv = torch.where(s > 0, 1.0 / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(s))
    q = torch.round(xg * inv).clamp_(-qmax, qmax)
    return q.mul_(s).reshape(shape).to(x.dtype)


class _FakeQuantSTE(torch.autograd.Function):
    """Forward: the runtime's per-group quantization; backward: the gradient unchanged (straight-through). Nothing
    is saved for the backward pass."""

    @staticmethod
    def forward(ctx, x, g, qmax):  # noqa: D102
        return _quantize_groups(x, g, qmax)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return grad, None, None


def fake_quant_act(x: torch.Tensor, g: int, qmax: int = 127) -> torch.Tensor:
    """Per-group symmetric quantization of the last dimension, as the runtime does it (f32 throughout):
    s = max|x|/qmax, q = round(x·(1/s)) ∈ [−qmax, qmax], returns q·s (in x's dtype) with a straight-through
    gradient."""
    if x.requires_grad:
        return _FakeQuantSTE.apply(x, g, qmax)
    return _quantize_groups(x, g, qmax)


def assign_masks(w: torch.Tensor, a1: torch.Tensor, a2: torch.Tensor):
    """Nearest of the levels 0, α1, α2, α1+α2 in that order, a level taken only when strictly nearer than every
    earlier one (ties to the first), elementwise with broadcasting; returns (b1, b2) as bool tensors."""
    best = w * w
    d1 = (w - a1).square_()
    m1 = d1 < best
    best = torch.where(m1, d1, best)
    d2 = (w - a2).square_()
    m2 = d2 < best
    best = torch.where(m2, d2, best)
    m3 = (w - (a1 + a2)).square_() < best
    # the last level that improved wins: 3 -> (1, 1), else 2 -> (0, 1), else 1 -> (1, 0), else 0 -> (0, 0)
    return m3 | (m1 & ~m2), m3 | m2


def assign_levels(w: torch.Tensor, a1: torch.Tensor, a2: torch.Tensor):
    """assign_masks as 0/1 tensors of w's dtype."""
    b1, b2 = assign_masks(w, a1, a2)
    return b1.to(w.dtype), b2.to(w.dtype)


class _FDBWeight(torch.autograd.Function):
    """ŵ = α1·b1 + α2·b2 from grouped latent weights w (out, G, g) and scales (out, G). Backward: ∂/∂α1 = Σ_g grad·b1,
    ∂/∂α2 = Σ_g grad·b2 (binaries held fixed), ∂/∂w = grad (identity STE) or grad inside the group's level range
    (clipped STE). Saves the binaries as bool (2 bytes per weight instead of the 8 of autograd's float copies)."""

    @staticmethod
    def forward(ctx, w, a1, a2, clipped):  # noqa: D102
        A1, A2 = a1[..., None], a2[..., None]
        b1, b2 = assign_masks(w, A1, A2)
        wq = A1 * b1 + A2 * b2
        inside = None
        if clipped:
            lo = torch.minimum(torch.minimum(A1, A2), torch.minimum(A1 + A2, torch.zeros_like(A1)))
            hi = torch.maximum(torch.maximum(A1, A2), torch.maximum(A1 + A2, torch.zeros_like(A1)))
            inside = (w >= lo) & (w <= hi)
        ctx.clipped = clipped
        ctx.save_for_backward(b1, b2, *( [inside] if clipped else []))
        return wq

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        saved = ctx.saved_tensors
        b1, b2 = saved[0], saved[1]
        ga1 = (grad * b1).sum(-1)
        ga2 = (grad * b2).sum(-1)
        gw = grad * saved[2] if ctx.clipped else grad
        return gw, ga1, ga2, None


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
        wq = _FDBWeight.apply(self.grouped(), self.alpha1, self.alpha2, self.ste == "clipped")
        return wq.reshape(self.weight.shape)

    def act_spec(self):
        """(group, qmax) of the input quantization, or None: layers with the same spec fed the same input (q/k/v,
        gate/up) can share one quantized copy, exactly as the runtime's kernels would each compute it."""
        return (self.group, 127) if self.act_quant else None

    def forward(self, x: torch.Tensor, prequantized: bool = False) -> torch.Tensor:
        if self.act_quant and not prequantized:
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
        return (b1.reshape(self.weight.shape).to(torch.uint8).cpu().numpy(), b2.reshape(self.weight.shape).to(torch.uint8).cpu().numpy(),
                a1.cpu().numpy().astype(np.float32), a2.cpu().numpy().astype(np.float32))


class FrozenLinear(nn.Module):
    """A float linear layer that is not trained (teacher weights; q8 head of the student)."""

    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None, act_quant_group: int = 0, act_qmax: int = 127,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.register_buffer("weight", weight.detach().to(dtype).contiguous())
        if bias is not None:
            self.register_buffer("bias", bias.detach().float())
        else:
            self.bias = None
        self.act_quant_group = act_quant_group
        self.act_qmax = act_qmax

    def act_spec(self):
        return (self.act_quant_group, self.act_qmax) if self.act_quant_group else None

    def forward(self, x: torch.Tensor, prequantized: bool = False) -> torch.Tensor:
        if self.act_quant_group and not prequantized:
            x = fake_quant_act(x, self.act_quant_group, self.act_qmax)
        if self.weight.dtype != torch.float32 and not torch.is_autocast_enabled():
            bias = None if self.bias is None else self.bias.to(self.weight.dtype)
            return F.linear(x.to(self.weight.dtype), self.weight, bias)
        return F.linear(x, self.weight, self.bias)


def shared_input(layers, x: torch.Tensor):
    """The input of several layers that read the same activations: quantized once when they all quantize it the
    same way (returns (x̃, True)), else (x, False) and each layer quantizes for itself."""
    specs = {l.act_spec() for l in layers}
    if len(specs) == 1:
        spec = next(iter(specs))
        if spec is None:
            return x, True
        return fake_quant_act(x, spec[0], spec[1]), True
    return x, False
