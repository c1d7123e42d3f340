"""Teacher loaders, one module per format. Each returns a `Teacher`: the canonical config, float32 tensors by
canonical (GGUF-style) name with q/k rows in the layout the config's `ropeLayout` names, and the tokenizer
descriptor to copy into the student's .dbllm (`dbllm.tokenizer`)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict

import numpy as np

from ..config import ModelConfig


@dataclass
class Teacher:
    config: ModelConfig
    tensors: Dict[str, np.ndarray]
    tokenizer: str  # JSON, as Tokenizer.serialize() in src/tokenizer/tokenizer.ts
    format: str  # gguf | hf | dbllm
    path: str
    files: list = field(default_factory=list)
    metadata: Dict[str, Any] = field(default_factory=dict)

    def sha256(self) -> Dict[str, str]:
        return {os.path.basename(f): sha256_file(f) for f in self.files}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def load_teacher(path: str) -> Teacher:
    """A .gguf file, a .dbllm file, or a Hugging Face directory (config.json + *.safetensors + tokenizer.json)."""
    if os.path.isdir(path):
        from .hf import load_hf
        return load_hf(path)
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic[:4] == b"GGUF":
        from .gguf_file import load_gguf
        return load_gguf(path)
    from .dbllm import load_dbllm
    return load_dbllm(path)


def check_tensors(cfg: ModelConfig, tensors: Dict[str, np.ndarray], origin: str) -> None:
    """Every tensor the architecture needs, with its shape (weightSpecs of src/model/weights.ts)."""
    q, kv = cfg.nHeads * cfg.headDim, cfg.nKvHeads * cfg.headDim
    need = {"token_embd.weight": (cfg.vocabSize, cfg.dim), "output_norm.weight": (cfg.dim,)}
    if not cfg.tiedEmbeddings:
        need["output.weight"] = (cfg.vocabSize, cfg.dim)
    for i in range(cfg.nLayers):
        b = f"blk.{i}."
        need.update({
            b + "attn_norm.weight": (cfg.dim,), b + "ffn_norm.weight": (cfg.dim,),
            b + "attn_q.weight": (q, cfg.dim), b + "attn_k.weight": (kv, cfg.dim), b + "attn_v.weight": (kv, cfg.dim),
            b + "attn_output.weight": (cfg.dim, q), b + "ffn_gate.weight": (cfg.ffnDim, cfg.dim),
            b + "ffn_up.weight": (cfg.ffnDim, cfg.dim), b + "ffn_down.weight": (cfg.dim, cfg.ffnDim),
        })
        if cfg.qkNorm:
            need[b + "attn_q_norm.weight"] = (cfg.headDim,)
            need[b + "attn_k_norm.weight"] = (cfg.headDim,)
    for name, shape in need.items():
        if name not in tensors:
            raise ValueError(f"{origin}: tensor {name} is missing")
        t = tensors[name]
        if tuple(t.shape) != shape:
            if len(shape) == 1 and t.size == shape[0]:
                tensors[name] = t.reshape(shape)
                continue
            raise ValueError(f"{origin}: tensor {name} has shape {list(t.shape)}, expected {list(shape)}")
