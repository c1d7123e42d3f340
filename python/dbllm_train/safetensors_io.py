"""A minimal safetensors reader/writer (the container of .dbllm files and of Hugging Face checkpoints), so the
package needs no `safetensors` wheel. Layout: u64 header length N, N bytes of JSON padded with spaces so that
8 + N is a multiple of the alignment (64 for .dbllm, docs/FORMAT.md), then the tensor data back to back."""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I16": np.int16,
    "I8": np.int8, "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_,
}
# Headers beyond this are corrupt: the safetensors crate's limit, shared with src/formats/safetensors.ts through
# tests/fixtures/config-parity.json.
MAX_HEADER = 100_000_000


@dataclass
class TensorEntry:
    name: str
    dtype: str
    shape: List[int]
    begin: int  # absolute file offsets
    end: int


class SafetensorsFile:
    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError(f"{path}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER:
                raise ValueError(f"{path}: safetensors header of {n} bytes is too large")
            header = json.loads(f.read(n).decode("utf-8"))
            f.seek(0, 2)
            size = f.tell()
        self.metadata: Dict[str, str] = header.pop("__metadata__", None) or {}
        self.tensors: Dict[str, TensorEntry] = {}
        base = 8 + n
        for name, e in header.items():
            b, en = e["data_offsets"]
            if not (0 <= b <= en and base + en <= size):
                raise ValueError(f"{path}: tensor {name} lies outside the file")
            self.tensors[name] = TensorEntry(name, e["dtype"], list(e["shape"]), base + b, base + en)
        self._mm = np.memmap(path, dtype=np.uint8, mode="r") if size > 0 else np.zeros(0, np.uint8)

    def raw(self, name: str) -> np.ndarray:
        e = self.tensors[name]
        return np.asarray(self._mm[e.begin:e.end])

    def get(self, name: str) -> np.ndarray:
        """The tensor as a numpy array of its dtype (BF16 widened to float32)."""
        e = self.tensors[name]
        raw = self.raw(name)
        if e.dtype == "BF16":
            u = raw.view(np.uint16).astype(np.uint32) << 16
            return u.view(np.float32).reshape(e.shape)
        if e.dtype not in DTYPES:
            raise ValueError(f"{self.path}: tensor {name} has unsupported dtype {e.dtype}")
        return raw.view(DTYPES[e.dtype]).reshape(e.shape)


def _dtype_name(a: np.ndarray) -> str:
    for k, v in DTYPES.items():
        if a.dtype == np.dtype(v):
            return k
    raise ValueError(f"no safetensors dtype for {a.dtype}")


def layout(tensors: List[Tuple[str, str, List[int], int]], metadata: Optional[Dict[str, str]] = None, alignment: int = 64) -> bytes:
    """The header bytes, as src/formats/safetensors.ts safetensorsLayout writes them (metadata first)."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = metadata
    pos = 0
    for name, dtype, shape, nbytes in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [pos, pos + nbytes]}
        pos += nbytes
    js = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    padded = -(-(8 + len(js)) // alignment) * alignment - 8
    return struct.pack("<Q", padded) + js + b" " * (padded - len(js))


def write(path: str, tensors: Iterable[Tuple[str, np.ndarray]], metadata: Optional[Dict[str, str]] = None, alignment: int = 64,
          dtypes: Optional[Dict[str, str]] = None) -> None:
    """Writes arrays (C order) in the given order. `dtypes` overrides the stored dtype name of a tensor."""
    items = [(n, np.ascontiguousarray(a)) for n, a in tensors]
    spec = [(n, (dtypes or {}).get(n) or _dtype_name(a), list(a.shape), a.nbytes) for n, a in items]
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(layout(spec, metadata, alignment))
        for _, a in items:
            f.write(a.tobytes())
    import os
    os.replace(tmp, path)
