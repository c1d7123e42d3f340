"""Perplexity in PyTorch with the windowing of `dbllm ppl` (src/eval/perplexity.ts): non-overlapping windows of
`ctx` tokens, each from an empty context, every token of a window but its first scored, a trailing window of at
least two tokens included, no BOS inserted; ppl = exp(mean NLL)."""
from __future__ import annotations

import math
from typing import List

import torch
import torch.nn.functional as F

from .model import LlamaModel


@torch.no_grad()
def perplexity(model: LlamaModel, ids: List[int], ctx: int = 512, log=lambda s: None) -> dict:
    if ctx < 2:
        raise ValueError("ctx must be ≥ 2")
    windows = [(s, min(len(ids), s + ctx)) for s in range(0, len(ids), ctx)]
    windows = [w for w in windows if w[1] - w[0] >= 2]
    total, scored = 0.0, 0
    for n, (s, e) in enumerate(windows):
        x = torch.tensor(ids[s:e], dtype=torch.long)[None]
        logp = F.log_softmax(model(x)[0].double(), dim=-1)
        total += float(-logp[:-1].gather(1, x[0, 1:, None]).sum())
        scored += e - s - 1
        log(f"window {n + 1}/{len(windows)}")
    nll = total / scored
    return {"perplexity": math.exp(nll), "nll": nll, "scoredTokens": scored, "windows": len(windows), "ctx": ctx}
