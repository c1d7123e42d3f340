"""Random LLaMA-family models of a given shape, for tests (tiny) and for the training-throughput benchmark (the real
parameter counts of SmolLM2-135M or TinyLlama-1.1B, no model file needed)."""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np

from .config import ModelConfig

# name -> (dim, layers, heads, kv heads, ffn, vocab, tied, rope theta), as bench/lib/shapes.ts
SHAPES: Dict[str, Tuple[int, int, int, int, int, int, bool, float]] = {
    "smollm2-135m": (576, 30, 9, 3, 1536, 49152, True, 100000.0),
    "tinyllama-1.1b": (2048, 22, 32, 4, 5632, 32000, False, 10000.0),
    "tiny": (64, 2, 4, 2, 128, 96, True, 10000.0),
}


def tiny_config(arch="llama", dim=64, layers=2, heads=4, kv=2, ffn=128, vocab=96, tied=True, layout=None, head_dim=None, window=0,
                theta=10000.0) -> ModelConfig:
    hd = head_dim or dim // heads
    return ModelConfig(architecture=arch, vocabSize=vocab, dim=dim, nLayers=layers, nHeads=heads, nKvHeads=kv, headDim=hd, ffnDim=ffn,
                       normEps=1e-5, ropeTheta=theta, ropeDim=hd, ropeLayout=layout or ("interleaved" if arch == "llama" else "neox"),
                       ropeScaling={"type": "none"}, contextLength=256, slidingWindow=window, tiedEmbeddings=tied, qkNorm=arch == "qwen3")


def shape_config(name: str) -> ModelConfig:
    if name not in SHAPES:
        raise ValueError(f"unknown shape {name!r}; known: {', '.join(SHAPES)}")
    dim, layers, heads, kv, ffn, vocab, tied, theta = SHAPES[name]
    return tiny_config("llama", dim, layers, heads, kv, ffn, vocab, tied, theta=theta)


def random_tensors(cfg: ModelConfig, seed=0) -> Dict[str, np.ndarray]:
    """Gaussian weights scaled like a trained model's (1/√fan-in), norms near 1, biases/q-k norms as the
    architecture has them."""
    r = np.random.default_rng(seed)
    q, kv = cfg.nHeads * cfg.headDim, cfg.nKvHeads * cfg.headDim
    f = lambda *s, std=1.0: (r.standard_normal(s) * std).astype(np.float32)  # noqa: E731
    t = {"token_embd.weight": f(cfg.vocabSize, cfg.dim, std=2 / np.sqrt(cfg.dim)), "output_norm.weight": 1 + f(cfg.dim, std=0.1)}
    if not cfg.tiedEmbeddings:
        t["output.weight"] = f(cfg.vocabSize, cfg.dim, std=2 / np.sqrt(cfg.dim))
    for i in range(cfg.nLayers):
        b = f"blk.{i}."
        t[b + "attn_norm.weight"] = 1 + f(cfg.dim, std=0.1)
        t[b + "ffn_norm.weight"] = 1 + f(cfg.dim, std=0.1)
        t[b + "attn_q.weight"] = f(q, cfg.dim, std=1 / np.sqrt(cfg.dim))
        t[b + "attn_k.weight"] = f(kv, cfg.dim, std=1 / np.sqrt(cfg.dim))
        t[b + "attn_v.weight"] = f(kv, cfg.dim, std=1 / np.sqrt(cfg.dim))
        t[b + "attn_output.weight"] = f(cfg.dim, q, std=1 / np.sqrt(q))
        t[b + "ffn_gate.weight"] = f(cfg.ffnDim, cfg.dim, std=1 / np.sqrt(cfg.dim))
        t[b + "ffn_up.weight"] = f(cfg.ffnDim, cfg.dim, std=1 / np.sqrt(cfg.dim))
        t[b + "ffn_down.weight"] = f(cfg.dim, cfg.ffnDim, std=1 / np.sqrt(cfg.ffnDim))
        if cfg.architecture == "qwen2":
            for k, n in (("attn_q", q), ("attn_k", kv), ("attn_v", kv)):
                t[b + k + ".bias"] = f(n, std=0.1)
        if cfg.qkNorm:
            t[b + "attn_q_norm.weight"] = 1 + f(cfg.headDim, std=0.1)
            t[b + "attn_k_norm.weight"] = 1 + f(cfg.headDim, std=0.1)
    return t


def absmax_init(cfg: ModelConfig, tensors: Dict[str, np.ndarray], group: int, names: Optional[list] = None):
    """The paper's FDB starting point without the least-squares fit (α1 = 2s, α2 = −s, s = max|w|/2 per group):
    instant, for benchmarks that measure speed, not accuracy."""
    from .fdb_fit import group_for
    from .model import LINEAR_NAMES
    out = {}
    for name in names or [f"blk.{i}.{k}.weight" for i in range(cfg.nLayers) for k in LINEAR_NAMES]:
        w = tensors[name]
        g = group_for(w.shape[1], group)
        s = np.abs(w.reshape(w.shape[0], -1, g)).max(axis=2) / 2
        s = s.astype(np.float16).astype(np.float32)
        out[name] = (2 * s, -s)
    return out
