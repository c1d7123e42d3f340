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
    """Token ids of a text file (no special tokens added). `text_path` may also be pre-tokenized: a .json list (or
    {"ids": [...]}) or a .npy integer array."""
    if text_path.endswith(".npy"):
        return [int(x) for x in np.load(text_path).reshape(-1)]
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


def chat_prefixes(model_path: str, prompts_path: str) -> List[List[int]]:
    """Token ids of each user turn of `prompts_path` wrapped in the model's chat template with the generation prompt
    (the ids Session.chat() would feed the model): a .txt file (one message per line, `#` lines skipped; rendered
    by the dbllm runtime) or a .json file ([[ids], ...] or {"prefixes": [[ids], ...]}) rendered beforehand."""
    if prompts_path.endswith(".json"):
        with open(prompts_path) as f:
            d = json.load(f)
        prefixes = d["prefixes"] if isinstance(d, dict) else d
    else:
        root = repo_root()
        if root is None:
            raise RuntimeError("rendering chat prompts needs the dbllm repository (node + tsx); pass them pre-rendered as a .json file")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "chat.json")
            subprocess.run(["node", "--import", "tsx", os.path.join(root, "python", "dbllm_train", "node_tokenize.ts"), "--chat",
                            os.path.abspath(model_path), os.path.abspath(prompts_path), out], cwd=root, check=True)
            with open(out) as f:
                prefixes = json.load(f)["prefixes"]
    prefixes = [[int(t) for t in p] for p in prefixes]
    if not prefixes or any(len(p) == 0 for p in prefixes):
        raise ValueError(f"{prompts_path}: no chat prompts, or an empty one")
    return prefixes


def text_windows(ids: List[int], length: int) -> torch.Tensor:
    """Non-overlapping windows of `length` tokens (a shorter tail is dropped)."""
    n = len(ids) // length
    return torch.tensor(ids[: n * length], dtype=torch.long).view(n, length)


def _batch_generator(device: torch.device, seed: int, index: int) -> torch.Generator:
    """Sample batch `index` draws from its own generator, so a batch is the same whichever process samples it."""
    g = torch.Generator(device=device) if device.type != "cpu" else torch.Generator()
    return g.manual_seed(seed * 1000003 + index)


@torch.no_grad()
def sample_batch(teacher: LlamaModel, b: int, length: int, gen: torch.Generator, temperature: float = 1.0, first: str = "random",
                 bos: Optional[int] = None, top_k: int = 0, prefixes: Optional[List[List[int]]] = None,
                 precision: str = "fp32") -> torch.Tensor:
    """b sequences of `length` tokens from the teacher, decoded together with a KV cache on the teacher's device.
    With `prefixes` (one token list per sequence), sequence i starts with prefixes[i] (teacher-forced) and the
    teacher continues it; otherwise the first token is uniform over the vocabulary ("random") or BOS ("bos")."""
    from .device import autocast
    dev = teacher.embed.device
    V = teacher.cfg.vocabSize
    forced = None
    if prefixes is not None:
        P = max(1, min(length, max(len(p) for p in prefixes)))
        forced = torch.full((b, P), -1, dtype=torch.long)
        for i, p in enumerate(prefixes):
            p = p[:length]
            forced[i, :len(p)] = torch.tensor(p, dtype=torch.long)
        forced = forced.to(dev)
        tok = forced[:, :1].clone()
        if bool((tok < 0).any()):
            raise ValueError("an empty chat prefix")
    elif first == "bos":
        if bos is None:
            raise ValueError("first='bos' needs the BOS token id")
        tok = torch.full((b, 1), bos, dtype=torch.long, device=dev)
    else:
        tok = torch.randint(0, V, (b, 1), generator=gen, device=dev)
    out = torch.empty(b, length, dtype=torch.long, device=dev)
    out[:, 0] = tok[:, 0]
    caches = teacher.new_caches(reserve=length)
    for t in range(length - 1):
        with autocast(dev, precision):
            logits = teacher(tok, t, caches)[:, -1, :].float()
        if temperature <= 0:
            nxt = logits.argmax(-1, keepdim=True)
        else:
            logits = logits / temperature
            if top_k > 0:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=gen)
        if forced is not None and t + 1 < forced.shape[1]:
            f = forced[:, t + 1:t + 2]
            nxt = torch.where(f >= 0, f, nxt)
        out[:, t + 1] = nxt[:, 0]
        tok = nxt
    return out


def chat_prefix_order(n_prompts: int, n: int, seed: int) -> List[int]:
    """Which prompt each of n chat samples starts from: every prompt once per round, each round in a seeded order."""
    rng = np.random.default_rng(seed)
    order: List[int] = []
    while len(order) < n:
        order.extend(rng.permutation(n_prompts).tolist())
    return order[:n]


@torch.no_grad()
def sample_from_teacher(teacher: LlamaModel, n: int, length: int, temperature: float = 1.0, seed: int = 0, batch: int = 16,
                        first: str = "random", bos: Optional[int] = None, top_k: int = 0,
                        log: Callable[[str], None] = lambda s: None, prefixes: Optional[List[List[int]]] = None,
                        precision: str = "fp32", dist=None) -> torch.Tensor:
    """Data-free calibration: n sequences of `length` tokens sampled from the teacher (ancestral sampling at
    `temperature`, optional top-k, batched with a KV cache on the teacher's device). The first token is uniform
    over the vocabulary ("random", as LLM-QAT) or the BOS token ("bos"); with `prefixes` (chat prompts rendered with
    the model's template), sample i starts from prefixes[order[i]] and the teacher writes the assistant's turn.
    Deterministic for a seed and device type, also when several processes share the work (`dist`: rank r samples
    batches r, r + world, …; all ranks receive all of them). Returns a CPU tensor (n, length)."""
    from . import distributed as D
    d = dist or D.Dist()
    dev = teacher.embed.device
    nb = (n + batch - 1) // batch
    order = chat_prefix_order(len(prefixes), n, seed) if prefixes else None
    mine = list(range(d.rank, nb, d.world))
    per = (nb + d.world - 1) // d.world
    buf = torch.zeros(per, batch, length, dtype=torch.long, device=dev)
    t0 = time.time()
    for j, bi in enumerate(mine):
        s = bi * batch
        b = min(batch, n - s)
        pre = [prefixes[order[i]] for i in range(s, s + b)] if prefixes else None
        buf[j, :b] = sample_batch(teacher, b, length, _batch_generator(dev, seed, bi), temperature, first, bos, top_k, pre, precision)
        done = (j + 1) * batch * d.world
        el = time.time() - t0
        log(f"sampled {min(n, done)}/{n} sequences of {length} tokens ({done * length / max(el, 1e-9):.0f} tok/s, "
            f"ETA {el / (j + 1) * (len(mine) - j - 1):.0f} s)")
    parts = D.gather_rows(buf, d)
    rows = [parts[bi % d.world][bi // d.world] for bi in range(nb)]
    out = torch.cat(rows, dim=0)[:n] if rows else torch.zeros(0, length, dtype=torch.long)
    return out.cpu()


def split_heldout_text(text: str, fraction: float = 0.1):
    """(train, held-out): the held-out part is the last `fraction` of the characters, starting at a line start."""
    cut = int(len(text) * (1 - fraction))
    nl = text.find("\n", cut)
    cut = nl + 1 if nl >= 0 else cut
    return text[:cut], text[cut:]
