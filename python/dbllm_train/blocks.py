"""Stored block formats of .dbllm files (docs/FORMAT.md): Q8_0 (GGML's, encoded exactly like
src/quant/ggml-blocks.ts encodeQ8_0) and FDB2_G{g} (two bit planes, then α1, α2 as f16, per group of g)."""
from __future__ import annotations

import numpy as np

from .half import f16_bits, f16_from_bits

QK = 32


def _round_away(v: np.ndarray) -> np.ndarray:
    """C's roundf (halves away from zero), exact for |v| < 2^52 like Math.sign(v)·Math.round(|v|)."""
    a = np.abs(v)
    r = np.floor(a)
    r = r + ((a - r) >= 0.5)
    return np.sign(v) * r


def encode_q8_0(w: np.ndarray) -> np.ndarray:
    """(rows, cols) float → (rows, cols/32·34) uint8, as encodeQ8_0 (float64 arithmetic on f32 inputs)."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    if cols % QK:
        raise ValueError(f"Q8_0 needs a multiple of 32 columns, got {cols}")
    x = w.astype(np.float64).reshape(rows, cols // QK, QK)
    amax = np.abs(x).max(axis=2)
    d = amax / 127
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0.0)
    q = _round_away(x * inv[:, :, None]).astype(np.int64) & 255
    out = np.empty((rows, cols // QK, 34), dtype=np.uint8)
    out[:, :, 0:2] = f16_bits(d).reshape(rows, cols // QK, 1).view(np.uint8)
    out[:, :, 2:] = q.astype(np.uint8)
    return out.reshape(rows, -1)


def decode_q8_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    b = np.asarray(raw, dtype=np.uint8).reshape(rows, cols // QK, 34)
    d = f16_from_bits(b[:, :, 0:2].copy().view(np.uint16)[:, :, 0])
    q = b[:, :, 2:].view(np.int8).astype(np.float32)
    return (q * d[:, :, None]).reshape(rows, cols).astype(np.float32)


def pack_fdb2(b1: np.ndarray, b2: np.ndarray, a1: np.ndarray, a2: np.ndarray, g: int) -> np.ndarray:
    """Bit planes (rows, cols) of 0/1 and scales (rows, cols/g) → stored FDB2_G{g} bytes (rows, cols/g·(g/4+4)).
    Scales are rounded to f16 here (callers pass f16-exact values when they want what they computed)."""
    rows, cols = b1.shape
    G = cols // g
    p1 = np.packbits(np.asarray(b1, dtype=np.uint8).reshape(rows, G, g), axis=2, bitorder="little")
    p2 = np.packbits(np.asarray(b2, dtype=np.uint8).reshape(rows, G, g), axis=2, bitorder="little")
    h = np.stack([f16_bits(a1), f16_bits(a2)], axis=2).reshape(rows, G, 2)
    out = np.concatenate([p1, p2, h.view(np.uint8).reshape(rows, G, 4)], axis=2)
    return np.ascontiguousarray(out.reshape(rows, G * (g // 4 + 4)))


def unpack_fdb2(raw: np.ndarray, rows: int, cols: int, g: int):
    """Stored FDB2_G{g} bytes → (b1, b2) uint8 (rows, cols), (a1, a2) float32 (rows, cols/g)."""
    G = cols // g
    b = np.asarray(raw, dtype=np.uint8).reshape(rows, G, g // 4 + 4)
    pb = g // 8
    b1 = np.unpackbits(b[:, :, :pb], axis=2, bitorder="little").reshape(rows, cols)
    b2 = np.unpackbits(b[:, :, pb:2 * pb], axis=2, bitorder="little").reshape(rows, cols)
    s = b[:, :, 2 * pb:].copy().view(np.uint16)
    return b1, b2, f16_from_bits(s[:, :, 0]), f16_from_bits(s[:, :, 1])


def decode_fdb2(raw: np.ndarray, rows: int, cols: int, g: int) -> np.ndarray:
    b1, b2, a1, a2 = unpack_fdb2(raw, rows, cols, g)
    G = cols // g
    w = (b1.reshape(rows, G, g) * a1[:, :, None]) + (b2.reshape(rows, G, g) * a2[:, :, None])
    return w.reshape(rows, cols).astype(np.float32)
