"""Training data: data-free calibration (sequences sampled from the teacher itself, as DB-LLM does) and optional
real text; the held-out split is never trained on.

Text is tokenized with the model's own tokenizer through the dbllm runtime (node_tokenize.ts, the same ids
`dbllm ppl` scores) when this package runs inside the dbllm repository, or read pre-tokenized from a .json
list / {"ids": [...]} file."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from typing import Callable, List, Optional

import numpy as np
import torch

from .model import LlamaModel

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def repo_root() -> Optional[str]:
    return REPO if os.path.exists(os.path.join(REPO, "src", "model", "sources.ts")) else None


def tokenize_file(model_path: str, text_path: str) -> List[int]:
    """Token ids of a text file (no special tokens added). `text_path` may also be a pre-tokenized .json file."""
    if text_path.endswith(".json"):
        with open(text_path) as f:
            d = json.load(f)
        return [int(x) for x in (d["ids"] if isinstance(d, dict) else d)]
    root = repo_root()
    if root is None:
        raise RuntimeError("tokenizing text needs the dbllm repository (node + tsx); pass pre-tokenized ids as a .json file instead")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ids.json")
        subprocess.run(["node", "--import", "tsx", os.path.join(root, "python", "dbllm_train", "node_tokenize.ts"),
                        os.path.abspath(model_path), os.path.abspath(text_path), out], cwd=root, check=True)
        with open(out) as f:
            return [int(x) for x in json.load(f)["ids"]]


def text_windows(ids: List[int], length: int) -> torch.Tensor:
    """Non-overlapping windows of `length` tokens (a shorter tail is dropped)."""
    n = len(ids) // length
    return torch.tensor(ids[: n * length], dtype=torch.long).view(n, length)


@torch.no_grad()
def sample_from_teacher(teacher: LlamaModel, n: int, length: int, temperature: float = 1.0, seed: int = 0, batch: int = 16,
                        first: str = "random", bos: Optional[int] = None, top_k: int = 0,
                        log: Callable[[str], None] = lambda s: None) -> torch.Tensor:
    """Data-free calibration: n sequences of `length` tokens sampled from the teacher (KV cache, ancestral sampling
    at `temperature`, optional top-k). The first token is uniform over the vocabulary ("random", as LLM-QAT) or
    the BOS token ("bos"). Deterministic for a seed (and thread count)."""
    V = teacher.cfg.vocabSize
    gen = torch.Generator().manual_seed(seed)
    out = torch.empty(n, length, dtype=torch.long)
    t0 = time.time()
    for s in range(0, n, batch):
        b = min(batch, n - s)
        if first == "bos":
            if bos is None:
                raise ValueError("first='bos' needs the BOS token id")
            tok = torch.full((b, 1), bos, dtype=torch.long)
        else:
            tok = torch.randint(0, V, (b, 1), generator=gen)
        seq = [tok]
        caches = teacher.new_caches()
        pos = 0
        for _ in range(length - 1):
            logits = teacher(tok, pos, caches)[:, -1, :].float()
            pos += tok.shape[1]
            if temperature <= 0:
                tok = logits.argmax(-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k > 0:
                    kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = torch.softmax(logits, dim=-1)
                tok = torch.multinomial(probs, 1, generator=gen)
            seq.append(tok)
        out[s:s + b] = torch.cat(seq, dim=1)
        done = s + b
        el = time.time() - t0
        log(f"sampled {done}/{n} sequences of {length} tokens ({done * length / max(el, 1e-9):.0f} tok/s, ETA {el / done * (n - done):.0f} s)")
    return out


def split_heldout_text(text: str, fraction: float = 0.1):
    """(train, held-out): the held-out part is the last `fraction` of the characters, starting at a line start."""
    cut = int(len(text) * (1 - fraction))
    nl = text.find("\n", cut)
    cut = nl + 1 if nl >= 0 else cut
    return text[:cut], text[cut:]
