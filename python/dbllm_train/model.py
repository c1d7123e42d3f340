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
from .device import HAS_SDPA
from .fdb_linear import FDBLinear, FrozenLinear, shared_input

LINEAR_NAMES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    ss = x.float().pow(2).mean(dim=-1, keepdim=True)
    return x * torch.rsqrt(ss + eps) * w


class Rope:
    """cos/sin tables (computed in float64, rounded to f32 like Forward.ropeTable, kept per device) and the rotation."""

    def __init__(self, cfg: ModelConfig, freq_factors: Optional[np.ndarray] = None):
        self.cfg = cfg
        self.inv = rope_inv_freq(cfg, freq_factors)
        self._cache: Dict[torch.device, Tuple[int, torch.Tensor, torch.Tensor]] = {}

    def tables(self, n: int, device: torch.device = torch.device("cpu")):
        have = self._cache.get(device)
        if have is None or have[0] < n:
            m = max(n, 2 * (have[0] if have else 0), 256)
            a = np.arange(m, dtype=np.float64)[:, None] * self.inv[None, :]
            self._cache[device] = (m, torch.from_numpy(np.cos(a).astype(np.float32)).to(device),
                                   torch.from_numpy(np.sin(a).astype(np.float32)).to(device))
        return self._cache[device][1], self._cache[device][2]

    def apply(self, x: torch.Tensor, pos0: int) -> torch.Tensor:
        """x: (B, T, heads, headDim)."""
        T = x.shape[1]
        rot = self.cfg.ropeDim
        half = rot // 2
        cos, sin = self.tables(pos0 + T, x.device)
        c = cos[pos0:pos0 + T][None, :, None, :]
        s = sin[pos0:pos0 + T][None, :, None, :]
        xr, rest = x[..., :rot], x[..., rot:]
        if self.cfg.ropeLayout == "neox":
            a, b = xr[..., :half], xr[..., half:]
            out = torch.cat([a * c - b * s, b * c + a * s], dim=-1)
        else:
            a, b = xr[..., 0::2], xr[..., 1::2]
            out = torch.stack([a * c - b * s, b * c + a * s], dim=-1).reshape(xr.shape)
        return torch.cat([out, rest.to(out.dtype)], dim=-1) if rest.shape[-1] else out


class LayerCache:
    """Keys and values of one layer for incremental decoding, (B, kvHeads, S, headDim), in preallocated storage that
    grows by doubling (or is reserved up front), so a decode step writes in place instead of concatenating."""

    def __init__(self, reserve: int = 0):
        self.reserve = reserve
        self.k: Optional[torch.Tensor] = None
        self.v: Optional[torch.Tensor] = None
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        B, H, T, D = k.shape
        need = self.length + T
        if self.k is None or need > self.k.shape[2] or self.k.dtype != k.dtype:
            cap = max(need, self.reserve, 2 * (self.k.shape[2] if self.k is not None else 0), 64)
            nk = k.new_empty(B, H, cap, D)
            nv = v.new_empty(B, H, cap, D)
            if self.k is not None and self.length:
                nk[:, :, :self.length] = self.k[:, :, :self.length]
                nv[:, :, :self.length] = self.v[:, :, :self.length]
            self.k, self.v = nk, nv
        self.k[:, :, self.length:need] = k
        self.v[:, :, self.length:need] = v
        self.length = need
        return self.k[:, :, :need], self.v[:, :, :need]


def _autocast_dtype() -> torch.dtype:
    if hasattr(torch, "get_autocast_dtype"):
        return torch.get_autocast_dtype("cuda")
    return torch.get_autocast_gpu_dtype()


_GQA: List[bool] = []


def _sdpa_gqa() -> bool:
    """Whether scaled_dot_product_attention takes enable_gqa (PyTorch ≥ 2.5): grouped-query heads without copying
    keys and values per query head."""
    if not _GQA:
        try:
            z = torch.zeros(1, 2, 1, 4)
            F.scaled_dot_product_attention(z, z[:, :1], z[:, :1], enable_gqa=True)
            _GQA.append(True)
        except (TypeError, RuntimeError):
            _GQA.append(False)
    return _GQA[0]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int = 0) -> torch.Tensor:
    """Causal attention of queries at positions S−T … S−1 over keys 0 … S−1 (q: B, H, T, hd; k, v: B, Hkv, S, hd),
    grouped-query heads, optional sliding window. PyTorch ≥ 2.0's fused scaled_dot_product_attention when it
    applies, else the explicit softmax (same mathematics)."""
    T, S, hd = q.shape[2], k.shape[2], q.shape[3]
    rep = q.shape[1] // k.shape[1]
    k, v = k.to(q.dtype), v.to(q.dtype)
    gqa = rep > 1 and HAS_SDPA and _sdpa_gqa()
    if rep > 1 and not gqa:
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
    mask = None
    if window > 0 or (T != S and T > 1):
        qpos = torch.arange(S - T, S, device=q.device)[:, None]
        kpos = torch.arange(S, device=q.device)[None, :]
        mask = kpos <= qpos
        if window > 0:
            mask = mask & (kpos > qpos - window)
    if HAS_SDPA:
        kw = {"enable_gqa": True} if gqa else {}
        if mask is not None:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)
        return F.scaled_dot_product_attention(q, k, v, is_causal=T > 1, **kw)
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / float(np.sqrt(hd)))
    if mask is None and T > 1:
        mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril_(S - T)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, linears: Dict[str, nn.Module], vectors: Dict[str, torch.Tensor]):
        super().__init__()
        self.cfg = cfg
        for k in LINEAR_NAMES:
            self.add_module(k, linears[k])
        for k, v in vectors.items():
            self.register_buffer(k, v.float())
        self.has_qk_norm = "attn_q_norm" in vectors

    def forward(self, x: torch.Tensor, rope: Rope, pos0: int = 0, cache: Optional[LayerCache] = None) -> torch.Tensor:
        c = self.cfg
        B, T, _ = x.shape
        h = rms_norm(x, self.attn_norm, c.normEps)
        hq, pre = shared_input((self.attn_q, self.attn_k, self.attn_v), h)
        q = self.attn_q(hq, pre).view(B, T, c.nHeads, c.headDim)
        k = self.attn_k(hq, pre).view(B, T, c.nKvHeads, c.headDim)
        v = self.attn_v(hq, pre).view(B, T, c.nKvHeads, c.headDim)
        if self.has_qk_norm:
            q = rms_norm(q, self.attn_q_norm, c.normEps)
            k = rms_norm(k, self.attn_k_norm, c.normEps)
        q = rope.apply(q, pos0).transpose(1, 2)
        k = rope.apply(k, pos0).transpose(1, 2)
        v = v.transpose(1, 2)
        if q.is_cuda and torch.is_autocast_enabled():  # RoPE's f32 tables promoted q/k; attend in the autocast type
            dt = _autocast_dtype()
            q, k, v = q.to(dt), k.to(dt), v.to(dt)
        if cache is not None:
            k, v = cache.append(k, v)
        o = attend(q, k, v, c.slidingWindow).transpose(1, 2).reshape(B, T, c.nHeads * c.headDim)
        x = x + self.attn_output(o)
        h = rms_norm(x, self.ffn_norm, c.normEps)
        hq, pre = shared_input((self.ffn_gate, self.ffn_up), h)
        x = x + self.ffn_down(F.silu(self.ffn_gate(hq, pre)) * self.ffn_up(hq, pre))
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

    def hidden(self, tokens: torch.Tensor, pos0: int = 0, caches: Optional[List[LayerCache]] = None,
               upto: Optional[int] = None) -> torch.Tensor:
        x = F.embedding(tokens, self.embed)
        for i, blk in enumerate(self.blocks):
            if upto is not None and i >= upto:
                break
            if caches is None:
                x = blk(x, self.rope, pos0, None)
            else:  # incremental decoding always runs eagerly (a compiled block would recompile for every position)
                x = Block.forward(blk, x, self.rope, pos0, caches[i])
        return x

    def logits_from_hidden(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(rms_norm(x, self.out_norm, self.cfg.normEps))

    def forward(self, tokens: torch.Tensor, pos0: int = 0, caches: Optional[List[LayerCache]] = None) -> torch.Tensor:
        return self.logits_from_hidden(self.hidden(tokens, pos0, caches))

    def new_caches(self, reserve: int = 0) -> List[LayerCache]:
        """One KV cache per block; `reserve` preallocates that many positions."""
        return [LayerCache(reserve) for _ in self.blocks]

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


def build_teacher(cfg: ModelConfig, tensors: Dict[str, np.ndarray], dtype: torch.dtype = torch.float32) -> LlamaModel:
    """The float model. `dtype` stores the block matrices (bf16 halves a large teacher's memory); embeddings, norms
    and the head stay float32."""
    blocks = []
    for i in range(cfg.nLayers):
        lin = {k: FrozenLinear(_t(tensors[f"blk.{i}.{k}.weight"]), _bias(tensors, f"blk.{i}.{k}.weight"), dtype=dtype) for k in LINEAR_NAMES}
        blocks.append(Block(cfg, lin, _vectors(cfg, tensors, i)))
    embed = _t(tensors["token_embd.weight"])
    head_w = embed if cfg.tiedEmbeddings else _t(tensors["output.weight"])
    m = LlamaModel(cfg, embed, blocks, _t(tensors["output_norm.weight"]), FrozenLinear(head_w), tensors.get("rope_freqs.weight"))
    m.requires_grad_(False)
    return m
