"""Shared helpers: tiny random LLaMA-family teachers (no files needed), one thread for determinism."""
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from dbllm_train.config import ModelConfig  # noqa: E402

torch.set_num_threads(1)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "fdb-fit-vector.json")


def tiny_config(arch="llama", dim=64, layers=2, heads=4, kv=2, ffn=128, vocab=96, tied=True, layout=None, head_dim=None, window=0):
    hd = head_dim or dim // heads
    return ModelConfig(architecture=arch, vocabSize=vocab, dim=dim, nLayers=layers, nHeads=heads, nKvHeads=kv, headDim=hd, ffnDim=ffn,
                       normEps=1e-5, ropeTheta=10000.0, ropeDim=hd, ropeLayout=layout or ("interleaved" if arch == "llama" else "neox"),
                       ropeScaling={"type": "none"}, contextLength=256, slidingWindow=window, tiedEmbeddings=tied, qkNorm=arch == "qwen3")


def random_tensors(cfg: ModelConfig, seed=0):
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


@pytest.fixture
def tiny():
    cfg = tiny_config()
    return cfg, random_tensors(cfg)
