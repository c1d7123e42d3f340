"""Writes a student as a .dbllm file exactly per docs/FORMAT.md: FDB2_G{g} block matrices from the trained
binaries and f16 scales, embeddings/head as Q8_0 (encoded like src/quant/ggml-blocks.ts encodeQ8_0 from the
teacher's float values) or F16, vectors F32, and the dbllm.* metadata (config, the teacher's tokenizer
descriptor, quantization, tensor types, provenance)."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from .blocks import encode_q8_0, pack_fdb2
from .model import LINEAR_NAMES, LlamaModel
from .safetensors_io import write


def _embedding_tensor(name: str, w: np.ndarray, stored: str, types: Dict[str, Any]) -> Tuple[str, np.ndarray, Optional[str]]:
    if stored == "Q8_0":
        types[name] = {"type": "Q8_0", "shape": list(w.shape)}
        return name, encode_q8_0(w), None
    return name, np.asarray(w, np.float32).astype(np.float16), None


def student_tensors(student: LlamaModel, teacher_tensors: Dict[str, np.ndarray]) -> Tuple[List[Tuple[str, np.ndarray]], Dict[str, Any]]:
    """The tensors of the .dbllm file in weightSpecs order, and dbllm.tensor_types."""
    cfg = student.cfg
    types: Dict[str, Any] = {}
    out: List[Tuple[str, np.ndarray]] = []
    f32 = lambda a: np.ascontiguousarray(np.asarray(a.detach().cpu() if torch.is_tensor(a) else a, dtype=np.float32))  # noqa: E731
    name, arr, _ = _embedding_tensor("token_embd.weight", np.asarray(teacher_tensors["token_embd.weight"], np.float32),
                                     student.stored_types["token_embd.weight"], types)
    out.append((name, arr))
    for i, blk in enumerate(student.blocks):
        b = f"blk.{i}."
        out.append((b + "attn_norm.weight", f32(blk.attn_norm)))
        for k in LINEAR_NAMES:
            layer = getattr(blk, k)
            b1, b2, a1, a2 = layer.export()
            g = layer.group
            rows, cols = b1.shape
            types[f"{b}{k}.weight"] = {"type": f"FDB2_G{g}", "shape": [rows, cols]}
            out.append((f"{b}{k}.weight", pack_fdb2(b1, b2, a1, a2, g)))
            if layer.bias is not None:
                out.append((f"{b}{k}.bias", f32(layer.bias)))
            if k == "attn_output":
                out.append((b + "ffn_norm.weight", f32(blk.ffn_norm)))
        if blk.has_qk_norm:
            out.append((b + "attn_q_norm.weight", f32(blk.attn_q_norm)))
            out.append((b + "attn_k_norm.weight", f32(blk.attn_k_norm)))
    out.append(("output_norm.weight", f32(student.out_norm)))
    if not cfg.tiedEmbeddings:
        name, arr, _ = _embedding_tensor("output.weight", np.asarray(teacher_tensors["output.weight"], np.float32),
                                         student.stored_types["output.weight"], types)
        out.append((name, arr))
    if student.freq_factors is not None:
        out.append(("rope_freqs.weight", f32(student.freq_factors).reshape(-1)))
    return out, types


def export_dbllm(path: str, student: LlamaModel, teacher_tensors: Dict[str, np.ndarray], tokenizer: str,
                 quantization: Dict[str, Any], provenance: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Rounds the student's scales to f16 (its binaries follow) and writes it. Returns a summary."""
    for _, layer in student.fdb_layers():
        layer.round_scales_f16()
    tensors, types = student_tensors(student, teacher_tensors)
    md = {
        "format": "dbllm",
        "dbllm.version": "1",
        "dbllm.config": student.cfg.to_json(),
        "dbllm.tokenizer": tokenizer,
        "dbllm.quantization": json.dumps(quantization, separators=(",", ":")),
        "dbllm.tensor_types": json.dumps(types, separators=(",", ":")),
    }
    if provenance is not None:
        md["dbllm.provenance"] = json.dumps(provenance, separators=(",", ":"))
    dtypes = {n: "U8" for n in types}
    write(path, tensors, md, 64, dtypes)
    lin_bits = sum(a.nbytes * 8 for n, a in tensors if types.get(n, {}).get("type", "").startswith("FDB2"))
    lin_weights = sum(types[n]["shape"][0] * types[n]["shape"][1] for n in types if types[n]["type"].startswith("FDB2"))
    return {"path": path, "tensors": len(tensors), "bytes": sum(a.nbytes for _, a in tensors),
            "linear_bits_per_weight": lin_bits / max(1, lin_weights)}
