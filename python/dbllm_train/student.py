"""The FDB student: block matrices become FDBLinear layers initialised exactly like `dbllm quantize` (fdb_fit, the
TypeScript fit reproduced bit for bit); embeddings and the head are what the .dbllm file will store (Q8_0 or F16,
dequantized, frozen); norms and biases stay float32 and frozen."""
from __future__ import annotations

import time
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

from .blocks import decode_q8_0, encode_q8_0, unpack_fdb2
from .config import ModelConfig
from .fdb_fit import fit_matrix, group_for
from .fdb_linear import FDBLinear, FrozenLinear
from .model import LINEAR_NAMES, Block, LlamaModel, _bias, _t, _vectors

InitTable = Dict[str, Tuple[np.ndarray, np.ndarray]]  # name -> (a1, a2) f16-exact, (rows, cols/g)


def stored_embedding(w: np.ndarray, kind: str) -> Tuple[np.ndarray, str]:
    """What `dbllm quantize` stores for an embedding/head matrix, dequantized: Q8_0 when the width is a multiple
    of 32 (else F16), or F16."""
    if kind == "q8" and w.shape[1] % 32 == 0:
        return decode_q8_0(encode_q8_0(w), *w.shape), "Q8_0"
    return w.astype(np.float16).astype(np.float32), "F16"


def fdb_init(cfg: ModelConfig, tensors: Dict[str, np.ndarray], group_size: int, method: str = "fdb",
             importance: Optional[Dict[str, np.ndarray]] = None, log: Callable[[str], None] = lambda s: None) -> InitTable:
    """The post-training FDB (or RTN) fit of every block matrix: name -> (α1, α2)."""
    out: InitTable = {}
    t0 = time.time()
    names = [f"blk.{i}.{k}.weight" for i in range(cfg.nLayers) for k in LINEAR_NAMES]
    for n, name in enumerate(names):
        w = tensors[name]
        g = group_for(w.shape[1], group_size)
        if g is None:
            raise ValueError(f"{name}: {w.shape[1]} columns are not a multiple of 32, so it cannot be stored as fdb2")
        _, _, a1, a2 = fit_matrix(w, g, method, None if importance is None else importance.get(name))
        out[name] = (a1.astype(np.float32), a2.astype(np.float32))
        if (n + 1) % 7 == 0 or n + 1 == len(names):
            log(f"fdb init: {n + 1}/{len(names)} matrices ({time.time() - t0:.0f} s)")
    return out


def init_from_dbllm(path: str, cfg: ModelConfig, group_size: int) -> InitTable:
    """The (α1, α2) of every block matrix of an FDB .dbllm file written for the same model — e.g. by
    `dbllm quantize --calib text.txt`, the activation-aware fit — as the starting point of distillation. The bitplanes
    follow from the scales (every weight at its nearest level), so the scales are all the fit contributes."""
    import json
    from .safetensors_io import SafetensorsFile
    if path.endswith(".npz"):
        return init_from_npz(path, cfg)
    st = SafetensorsFile(path)
    md = st.metadata
    if md.get("format") != "dbllm":
        raise ValueError(f"--init-from {path}: not a .dbllm file")
    types = json.loads(md.get("dbllm.tensor_types", "{}"))
    out: InitTable = {}
    for i in range(cfg.nLayers):
        for k in LINEAR_NAMES:
            name = f"blk.{i}.{k}.weight"
            if name not in types:
                raise ValueError(f"--init-from {path}: no tensor {name}")
            t, (rows, cols) = types[name]["type"], types[name]["shape"]
            g = group_for(cols, group_size)
            if t != f"FDB2_G{g}":
                raise ValueError(f"--init-from {path}: {name} is {t}, the student needs FDB2_G{g} (--group-size {group_size})")
            _, _, a1, a2 = unpack_fdb2(st.raw(name), rows, cols, g)
            out[name] = (a1.astype(np.float32), a2.astype(np.float32))
    return out


def init_from_npz(path: str, cfg: ModelConfig) -> InitTable:
    """Scales saved as `<name>.a1` / `<name>.a2` arrays (what the init cache holds; `save_init_npz` writes it), e.g.
    extracted from a .dbllm file to carry them without its 60 MB of bit planes."""
    z = np.load(path)
    out: InitTable = {}
    for i in range(cfg.nLayers):
        for k in LINEAR_NAMES:
            name = f"blk.{i}.{k}.weight"
            if name + ".a1" not in z.files:
                raise ValueError(f"--init-from {path}: no scales for {name}")
            out[name] = (np.asarray(z[name + ".a1"], np.float32), np.asarray(z[name + ".a2"], np.float32))
    return out


def save_init_npz(path: str, init: InitTable) -> None:
    np.savez(path, **{f"{k}.a1": v[0] for k, v in init.items()}, **{f"{k}.a2": v[1] for k, v in init.items()})


def build_student(cfg: ModelConfig, tensors: Dict[str, np.ndarray], init: InitTable, group_size: int, embed: str = "q8",
                  head: str = "q8", act_quant: bool = True, head_act_quant: bool = True, ste: str = "identity") -> LlamaModel:
    """The student model. `act_quant`: int8 per-group activations in the FDB layers (what the runtime does);
    `head_act_quant`: 7-bit activations per 32 into a Q8_0 head (the runtime's q8 kernel)."""
    blocks = []
    for i in range(cfg.nLayers):
        lin = {}
        for k in LINEAR_NAMES:
            name = f"blk.{i}.{k}.weight"
            w = tensors[name]
            g = group_for(w.shape[1], group_size)
            a1, a2 = init[name]
            lin[k] = FDBLinear(_t(w), g, _t(a1), _t(a2), _bias(tensors, name), act_quant=act_quant, ste=ste)
        blocks.append(Block(cfg, lin, _vectors(cfg, tensors, i)))
    emb, emb_type = stored_embedding(np.asarray(tensors["token_embd.weight"], np.float32), embed)
    if cfg.tiedEmbeddings:
        head_w, head_type = emb, emb_type
    else:
        head_w, head_type = stored_embedding(np.asarray(tensors["output.weight"], np.float32), head)
    hq = 32 if (head_act_quant and head_type == "Q8_0") else 0
    m = LlamaModel(cfg, _t(emb), blocks, _t(tensors["output_norm.weight"]), FrozenLinear(_t(head_w), act_quant_group=hq, act_qmax=63),
                   tensors.get("rope_freqs.weight"))
    m.stored_types = {"token_embd.weight": emb_type, "output.weight": head_type}
    m.group_size = group_size
    m.embed_kind, m.head_kind = embed, head
    for p in m.parameters():
        p.requires_grad_(True)
    return m


def trainable_parameters(m: LlamaModel):
    """(latent weights, scales) of every FDB layer."""
    weights, scales = [], []
    for _, layer in m.fdb_layers():
        weights.append(layer.weight)
        scales += [layer.alpha1, layer.alpha2]
    return weights, scales


def set_threads(n: Optional[int]) -> None:
    if n:
        torch.set_num_threads(n)
