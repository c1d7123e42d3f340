"""Perplexity in PyTorch with the windowing of `dbllm ppl` (src/eval/perplexity.ts): non-overlapping windows of
`ctx` tokens, each from an empty context, every token of a window but its first scored, a trailing window of at
least two tokens included, no BOS inserted; ppl = exp(mean NLL). Runs on the model's device in float32 (TF32 off
for the duration, so a GPU computes what the runtime computes up to float rounding); full windows are batched on a
GPU (each window is still computed on its own)."""
from __future__ import annotations

import contextlib
import math
from typing import List

import torch
import torch.nn.functional as F

from .model import LlamaModel


@contextlib.contextmanager
def exact_fp32():
    """float32 matrix products without TF32 on CUDA (restored afterwards)."""
    if not torch.cuda.is_available():
        yield
        return
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


@torch.no_grad()
def perplexity(model: LlamaModel, ids: List[int], ctx: int = 512, log=lambda s: None, batch: int = 0) -> dict:
    if ctx < 2:
        raise ValueError("ctx must be ≥ 2")
    dev = model.embed.device
    batch = batch or (8 if dev.type == "cuda" else 1)
    windows = [(s, min(len(ids), s + ctx)) for s in range(0, len(ids), ctx)]
    windows = [w for w in windows if w[1] - w[0] >= 2]
    total, scored = 0.0, 0
    groups: List[List[tuple]] = []
    for w in windows:  # consecutive windows of the same length go together
        if groups and len(groups[-1]) < batch and (groups[-1][0][1] - groups[-1][0][0]) == (w[1] - w[0]):
            groups[-1].append(w)
        else:
            groups.append([w])
    done = 0
    with exact_fp32():
        for grp in groups:
            x = torch.tensor([ids[s:e] for s, e in grp], dtype=torch.long, device=dev)
            logp = F.log_softmax(model(x).double(), dim=-1)
            total += float(-logp[:, :-1].gather(2, x[:, 1:, None]).sum())
            scored += sum(e - s - 1 for s, e in grp)
            done += len(grp)
            log(f"window {done}/{len(windows)}")
    nll = total / scored
    return {"perplexity": math.exp(nll), "nll": nll, "scoredTokens": scored, "windows": len(windows), "ctx": ctx}
