"""GGUF teacher: metadata and tensors through PyPI `gguf` (llama.cpp's own reader and dequantizers). Tensor rows are
kept as stored: GGUF llama files hold q/k rows permuted for the interleaved RoPE pairs, and the exported config
says `ropeLayout: interleaved` (qwen2/qwen3 GGUF files: neox), exactly as src/config/from-gguf.ts configFromGGUF."""
from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

from ..config import config_from_gguf
from . import Teacher, check_tensors


def _field_value(field) -> Any:
    return field.contents()


def _tokenizer_entry(field) -> Dict[str, Any]:
    """{"t": type, "v": value} as Tokenizer.serialize() writes a GGUF metadata value."""
    from gguf import GGUFValueType as T
    v = field.contents()
    types = field.types
    if types[0] == T.ARRAY and len(types) > 1:
        sub = types[1]
        if sub == T.FLOAT32:
            return {"t": "f32", "v": [_num(float(np.float32(x))) for x in v]}
        if sub == T.INT32:
            return {"t": "i32", "v": [int(x) for x in v]}
        if sub == T.UINT32:
            return {"t": "u32", "v": [int(x) for x in v]}
        if sub in (T.FLOAT64,):
            return {"t": "json", "v": [_num(float(x)) for x in v]}
        if sub in (T.UINT8, T.INT8, T.UINT16, T.INT16, T.UINT64, T.INT64):
            return {"t": "json", "v": [int(x) for x in v]}
        if sub == T.BOOL:
            return {"t": "json", "v": [bool(x) for x in v]}
        return {"t": "json", "v": v}
    t0 = types[0]
    if t0 in (T.UINT64, T.INT64):
        iv = int(v)
        if abs(iv) > 2 ** 53 - 1 or t0 == T.UINT64 and iv > 2 ** 53 - 1:
            return {"t": "big", "v": str(iv)}
        return {"t": "json", "v": iv}
    if t0 == T.FLOAT32:
        return {"t": "json", "v": _num(float(np.float32(v)))}
    if t0 == T.FLOAT64:
        return {"t": "json", "v": _num(float(v))}
    if t0 == T.BOOL:
        return {"t": "json", "v": bool(v)}
    if t0 == T.STRING:
        return {"t": "json", "v": str(v)}
    return {"t": "json", "v": int(v)}


def _num(x: float):
    """JSON numbers as JavaScript prints them (integral values without '.0')."""
    if math.isfinite(x) and x == int(x) and abs(x) < 2 ** 53:
        return int(x)
    return x


def load_gguf(path: str) -> Teacher:
    import json
    from gguf import GGUFReader
    from gguf.quants import dequantize

    r = GGUFReader(path)
    fields = {k: _field_value(f) for k, f in r.fields.items() if not k.startswith("GGUF.")}
    names = {t.name for t in r.tensors}
    cfg = config_from_gguf(fields, names, path)
    tensors: Dict[str, np.ndarray] = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape.tolist())] if hasattr(t.shape, "tolist") else list(reversed(t.shape))
        tensors[t.name] = a.reshape(shape) if len(shape) > 1 else a.reshape(-1)
    check_tensors(cfg, tensors, path)
    tok = {"kind": "gguf", "metadata": {k: _tokenizer_entry(f) for k, f in r.fields.items() if k.startswith("tokenizer.")}}
    meta = {k: v for k, v in fields.items() if not k.startswith("tokenizer.ggml.") and not isinstance(v, list)}
    return Teacher(cfg, tensors, json.dumps(tok, separators=(",", ":"), ensure_ascii=False), "gguf", path, [path], meta)
