"""The LLaMA-family forward pass in PyTorch, matching src/model/forward.ts in float: RMSNorm (eps from the config),
RoPE (theta, linear/llama3 scaling, GGUF rope_freqs; `interleaved` pairs (2i, 2i+1) or `neox` pairs (i, i+rot/2);
partial rotary), grouped-query causal attention with an optional sliding window, SwiGLU, Qwen2 q/k/v biases,
Qwen3 per-head q/k RMSNorm (after the bias, before RoPE), tied or untied output head.

Weights are kept by canonical (GGUF-style) tensor name; q/k rows are in the layout the config's `ropeLayout`
says (GGUF llama files are permuted for `interleaved`; nothing is un-permuted anywhere).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig, rope_inv_freq
from .fdb_linear import FDBLinear, FrozenLinear

LINEAR_NAMES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    ss = x.float().pow(2).mean(dim=-1, keepdim=True)
    return x * torch.rsqrt(ss + eps) * w


class Rope:
    """cos/sin tables (computed in float64, rounded to f32 like Forward.ropeTable) and the rotation."""

    def __init__(self, cfg: ModelConfig, freq_factors: Optional[np.ndarray] = None):
        self.cfg = cfg
        self.inv = rope_inv_freq(cfg, freq_factors)
        self._cache: Tuple[int, torch.Tensor, torch.Tensor] = (0, torch.zeros(0), torch.zeros(0))

    def tables(self, n: int):
        if self._cache[0] < n:
            m = max(n, 2 * self._cache[0], 256)
            a = np.arange(m, dtype=np.float64)[:, None] * self.inv[None, :]
            self._cache = (m, torch.from_numpy(np.cos(a).astype(np.float32)), torch.from_numpy(np.sin(a).astype(np.float32)))
        return self._cache[1], self._cache[2]

    def apply(self, x: torch.Tensor, pos0: int) -> torch.Tensor:
        """x: (B, T, heads, headDim)."""
        T = x.shape[1]
        rot = self.cfg.ropeDim
        half = rot // 2
        cos, sin = self.tables(pos0 + T)
        c = cos[pos0:pos0 + T][None, :, None, :]
        s = sin[pos0:pos0 + T][None, :, None, :]
        xr, rest = x[..., :rot], x[..., rot:]
        if self.cfg.ropeLayout == "neox":
            a, b = xr[..., :half], xr[..., half:]
            out = torch.cat([a * c - b * s, b * c + a * s], dim=-1)
        else:
            a, b = xr[..., 0::2], xr[..., 1::2]
            out = torch.stack([a * c - b * s, b * c + a * s], dim=-1).reshape(xr.shape)
        return torch.cat([out, rest], dim=-1) if rest.shape[-1] else out


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, linears: Dict[str, nn.Module], vectors: Dict[str, torch.Tensor]):
        super().__init__()
        self.cfg = cfg
        for k in LINEAR_NAMES:
            self.add_module(k, linears[k])
        for k, v in vectors.items():
            self.register_buffer(k, v.float())
        self.has_qk_norm = "attn_q_norm" in vectors

    def forward(self, x: torch.Tensor, rope: Rope, pos0: int = 0, cache: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
        c = self.cfg
        B, T, _ = x.shape
        h = rms_norm(x, self.attn_norm, c.normEps)
        q = self.attn_q(h).view(B, T, c.nHeads, c.headDim)
        k = self.attn_k(h).view(B, T, c.nKvHeads, c.headDim)
        v = self.attn_v(h).view(B, T, c.nKvHeads, c.headDim)
        if self.has_qk_norm:
            q = rms_norm(q, self.attn_q_norm, c.normEps)
            k = rms_norm(k, self.attn_k_norm, c.normEps)
        q = rope.apply(q, pos0)
        k = rope.apply(k, pos0)
        if cache is not None:
            if cache:
                k = torch.cat([cache[0], k], dim=1)
                v = torch.cat([cache[1], v], dim=1)
                cache[0], cache[1] = k, v
            else:
                cache.extend([k, v])
        S = k.shape[1]  # keys at positions 0 .. S-1 (pos0 = S - T)
        rep = c.nHeads // c.nKvHeads
        qh = q.permute(0, 2, 1, 3)  # B, H, T, hd
        kh = k.permute(0, 2, 1, 3).repeat_interleave(rep, dim=1)
        vh = v.permute(0, 2, 1, 3).repeat_interleave(rep, dim=1)
        scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / float(np.sqrt(c.headDim)))
        qpos = torch.arange(S - T, S)[:, None]
        kpos = torch.arange(S)[None, :]
        allowed = kpos <= qpos
        if c.slidingWindow > 0:
            allowed = allowed & (kpos > qpos - c.slidingWindow)
        scores = scores.masked_fill(~allowed, float("-inf"))
        att = torch.softmax(scores, dim=-1)
        o = torch.matmul(att, vh).permute(0, 2, 1, 3).reshape(B, T, c.nHeads * c.headDim)
        x = x + self.attn_output(o)
        h = rms_norm(x, self.ffn_norm, c.normEps)
        x = x + self.ffn_down(F.silu(self.ffn_gate(h)) * self.ffn_up(h))
        return x


class LlamaModel(nn.Module):
    """Teacher (FrozenLinear everywhere) or student (FDBLinear block matrices); see build_teacher / build_student."""

    def __init__(self, cfg: ModelConfig, embed: torch.Tensor, blocks: List[Block], out_norm: torch.Tensor, head: FrozenLinear,
                 freq_factors: Optional[np.ndarray] = None):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("embed", embed.float())
        self.blocks = nn.ModuleList(blocks)
        self.register_buffer("out_norm", out_norm.float())
        self.head = head
        self.rope = Rope(cfg, freq_factors)
        self.freq_factors = freq_factors

    def hidden(self, tokens: torch.Tensor, pos0: int = 0, caches: Optional[List[List[torch.Tensor]]] = None,
               upto: Optional[int] = None) -> torch.Tensor:
        x = F.embedding(tokens, self.embed)
        for i, blk in enumerate(self.blocks):
            if upto is not None and i >= upto:
                break
            x = blk(x, self.rope, pos0, None if caches is None else caches[i])
        return x

    def logits_from_hidden(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(rms_norm(x, self.out_norm, self.cfg.normEps))

    def forward(self, tokens: torch.Tensor, pos0: int = 0, caches: Optional[List[List[torch.Tensor]]] = None) -> torch.Tensor:
        return self.logits_from_hidden(self.hidden(tokens, pos0, caches))

    def new_caches(self) -> List[List[torch.Tensor]]:
        return [[] for _ in self.blocks]

    def fdb_layers(self) -> List[Tuple[str, FDBLinear]]:
        out = []
        for i, b in enumerate(self.blocks):
            for k in LINEAR_NAMES:
                m = getattr(b, k)
                if isinstance(m, FDBLinear):
                    out.append((f"blk.{i}.{k}.weight", m))
        return out


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float32, copy=True))


def _vectors(cfg: ModelConfig, tensors: Dict[str, np.ndarray], i: int) -> Dict[str, torch.Tensor]:
    b = f"blk.{i}."
    v = {"attn_norm": _t(tensors[b + "attn_norm.weight"]), "ffn_norm": _t(tensors[b + "ffn_norm.weight"])}
    if cfg.qkNorm:
        v["attn_q_norm"] = _t(tensors[b + "attn_q_norm.weight"])
        v["attn_k_norm"] = _t(tensors[b + "attn_k_norm.weight"])
    return v


def _bias(tensors, name):
    key = name.replace(".weight", ".bias")
    return _t(tensors[key]) if key in tensors else None


def build_teacher(cfg: ModelConfig, tensors: Dict[str, np.ndarray]) -> LlamaModel:
    blocks = []
    for i in range(cfg.nLayers):
        lin = {k: FrozenLinear(_t(tensors[f"blk.{i}.{k}.weight"]), _bias(tensors, f"blk.{i}.{k}.weight")) for k in LINEAR_NAMES}
        blocks.append(Block(cfg, lin, _vectors(cfg, tensors, i)))
    embed = _t(tensors["token_embd.weight"])
    head_w = embed if cfg.tiedEmbeddings else _t(tensors["output.weight"])
    m = LlamaModel(cfg, embed, blocks, _t(tensors["output_norm.weight"]), FrozenLinear(head_w), tensors.get("rope_freqs.weight"))
    m.requires_grad_(False)
    return m
