"""Hugging Face directory teacher: config.json, model.safetensors (or shards listed in model.safetensors.index.json),
tokenizer.json, tokenizer_config.json (+ chat_template.jinja), generation_config.json — the files
src/open/hf-dir.ts openHFDirectory reads. HF q/k rows are in the `neox` (half-split) layout, as the config says."""
from __future__ import annotations

import json
import os
import re
from typing import Dict

import numpy as np

from ..config import config_from_hf
from ..safetensors_io import SafetensorsFile
from . import Teacher, check_tensors

HF_LAYER = {
    "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.bias": "attn_output.bias", "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
}


def canonical_from_hf(name: str):
    if name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if name == "model.norm.weight":
        return "output_norm.weight"
    if name == "lm_head.weight":
        return "output.weight"
    m = re.match(r"^model\.layers\.(\d+)\.(.+)$", name)
    if m and m.group(2) in HF_LAYER:
        return f"blk.{m.group(1)}.{HF_LAYER[m.group(2)]}"
    return None


def _json(path: str, required: bool):
    if not os.path.exists(path):
        if required:
            raise FileNotFoundError(f"{path} is missing")
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_hf(d: str) -> Teacher:
    j = lambda n: os.path.join(d, n)  # noqa: E731
    cfg_json = _json(j("config.json"), True)
    cfg = config_from_hf(cfg_json, j("config.json"))
    tok_json = _json(j("tokenizer.json"), False)
    if tok_json is None:
        raise FileNotFoundError(f"{d} has no tokenizer.json (dbllm needs the fast-tokenizer file)")
    tok_cfg = _json(j("tokenizer_config.json"), False) or {}
    if os.path.exists(j("chat_template.jinja")):
        with open(j("chat_template.jinja"), encoding="utf-8") as f:
            tok_cfg["chat_template"] = f.read()
    gen_cfg = _json(j("generation_config.json"), False)
    index = _json(j("model.safetensors.index.json"), False)
    if index:
        shards = list(dict.fromkeys(index["weight_map"].values()))
    elif os.path.exists(j("model.safetensors")):
        shards = ["model.safetensors"]
    else:
        raise FileNotFoundError(f"{d} has neither model.safetensors nor model.safetensors.index.json")
    tensors: Dict[str, np.ndarray] = {}
    files = []
    for s in shards:
        st = SafetensorsFile(j(s))
        files.append(j(s))
        for name in st.tensors:
            c = canonical_from_hf(name)
            if c is None:
                continue
            tensors[c] = np.asarray(st.get(name), dtype=np.float32)
    check_tensors(cfg, tensors, d)
    tok = {"kind": "hf", "tokenizerJson": tok_json, "tokenizerConfig": tok_cfg}
    if gen_cfg is not None:
        tok["generationConfig"] = gen_cfg
    meta = {"hf.architectures": cfg_json.get("architectures"), "hf.torch_dtype": cfg_json.get("torch_dtype"), "hf.model_type": cfg_json.get("model_type")}
    return Teacher(cfg, tensors, json.dumps(tok, separators=(",", ":"), ensure_ascii=False), "hf", d, files + [j("config.json"), j("tokenizer.json")], meta)
