"""A .dbllm teacher (or a .dbllm student to evaluate): every tensor dequantized to float32 (FDB2_G*, Q8_0, F16, F32),
the config and the tokenizer descriptor copied from its metadata."""
from __future__ import annotations

import json
from typing import Dict

import numpy as np

from ..blocks import decode_fdb2, decode_q8_0
from ..config import ModelConfig
from ..safetensors_io import SafetensorsFile
from . import Teacher, check_tensors


def load_dbllm(path: str) -> Teacher:
    st = SafetensorsFile(path)
    md = st.metadata
    if md.get("format") != "dbllm":
        raise ValueError(f"{path} is not a .dbllm file (nor a GGUF file or a Hugging Face directory)")
    if md.get("dbllm.version") != "1":
        raise ValueError(f"{path}: .dbllm version {md.get('dbllm.version')} is not supported")
    cfg = ModelConfig.from_dict(json.loads(md["dbllm.config"]))
    types = json.loads(md.get("dbllm.tensor_types", "{}"))
    tensors: Dict[str, np.ndarray] = {}
    for name in st.tensors:
        if name in types:
            t, (rows, cols) = types[name]["type"], types[name]["shape"]
            raw = st.raw(name)
            if t.startswith("FDB2_G"):
                tensors[name] = decode_fdb2(raw, rows, cols, int(t[6:]))
            elif t == "Q8_0":
                tensors[name] = decode_q8_0(raw, rows, cols)
            else:
                raise ValueError(f"{path}: tensor {name} has type {t}, which dbllm_train cannot read")
        else:
            tensors[name] = np.asarray(st.get(name), dtype=np.float32)
    check_tensors(cfg, tensors, path)
    meta = {"quantization": json.loads(md.get("dbllm.quantization", "{}")), "provenance": json.loads(md.get("dbllm.provenance", "null") or "null"),
            "tensor_types": types}
    return Teacher(cfg, tensors, md["dbllm.tokenizer"], "dbllm", path, [path], meta)
