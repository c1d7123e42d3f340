"""The FDB post-training fit of `dbllm quantize` (src/quant/fdb.ts `fitGroup`), reproduced bit for bit and
vectorised over many groups at once.

Every arithmetic step is the same float64 operation in the same order as the TypeScript: sums are strictly
sequential over the group (numpy's `add.accumulate`, not its pairwise `sum`), f16 rounding goes through f32,
ties go to the first candidate in the order 0, α1, α2, α1+α2, and each group stops iterating exactly when the
TypeScript loop would. tests/fixtures/fdb-fit-vector.json (written by scripts/make-fdb-vector.ts from fdb.ts)
checks it.

Shapes: groups are rows of `w` (N, g); internally columns (g, N) so that each sequential step is contiguous.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .half import to_f16

MAX_ITERS = 32


def _seqsum(x: np.ndarray) -> np.ndarray:
    """Σ_i x[i] for each column, left to right from 0 like `for (...) acc += x[i]` (the + 0.0 turns the -0 that
    add.accumulate keeps when every term is ±0 into the +0 that JavaScript's 0 + (-0) gives)."""
    return np.add.accumulate(x, axis=0)[-1] + 0.0


def _assign(w: np.ndarray, p: np.ndarray, a1: np.ndarray, a2: np.ndarray):
    """Nearest of the levels 0, α1, α2, α1+α2 (ties to the first); returns b1, b2 (uint8) and the weighted error."""
    best = w * w
    c1 = np.zeros(w.shape, dtype=np.uint8)
    c2 = np.zeros(w.shape, dtype=np.uint8)
    for level, b1, b2 in ((a1, 1, 0), (a2, 0, 1), (a1 + a2, 1, 1)):  # in this order, so ties keep the earlier level
        d = w - level
        d = d * d
        m = d < best
        best = np.where(m, d, best)
        c1[m] = b1
        c2[m] = b2
    return c1, c2, _seqsum(p * best)


def _group_error(w, p, a1, a2, b1, b2):
    d = (w - a1 * b1) - a2 * b2
    return _seqsum((p * d) * d)


def _normal(w, p, b1, b2):
    x1 = b1.astype(np.float64)
    x2 = b2.astype(np.float64)
    px1 = p * x1
    pv = p * w
    return _seqsum(px1), _seqsum(p * x2), _seqsum(px1 * x2), _seqsum(pv * x1), _seqsum(pv * x2)


def _solve(n, a1, a2):
    s11, s22, s12, r1, r2 = n
    det = s11 * s22 - s12 * s12
    ok = det > 1e-12 * np.maximum(1.0, s11 * s22)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = (r1 * s22 - r2 * s12) / det
        f2 = (r2 * s11 - r1 * s12) / det
        q1 = r1 / s11
        q2 = r2 / s22
    both = (s11 > 0) & (s22 > 0)
    half = q1 / 2
    o1 = np.where(ok, f1, np.where(both, half, np.where(s11 > 0, q1, a1)))
    o2 = np.where(ok, f2, np.where(both, half, np.where(s11 > 0, a2, np.where(s22 > 0, q2, a2))))
    return o1, o2


def _als(w, p, a1, a2):
    """Alternating least squares from (a1, a2) for every column; returns a1, a2, err, c1, c2."""
    c1, c2, err = _assign(w, p, a1, a2)
    a1 = a1.copy()
    a2 = a2.copy()
    idx = np.arange(w.shape[1])
    for _ in range(MAX_ITERS):
        ws, ps = w[:, idx], p[:, idx]
        o1, o2 = _solve(_normal(ws, ps, c1[:, idx], c2[:, idx]), a1[idx], a2[idx])
        a1[idx] = o1
        a2[idx] = o2
        n1, n2, e = _assign(ws, ps, o1, o2)
        changed = np.any((n1 != c1[:, idx]) | (n2 != c2[:, idx]), axis=0)
        c1[:, idx] = n1
        c2[:, idx] = n2
        err[idx] = e
        idx = idx[changed]
        if idx.size == 0:
            break
    return a1, a2, err, c1, c2


def _store_f16(w, p, b1, b2, a1, a2):
    """storeF16: round the scales to f16 and make the group coordinate-wise optimal on the f16 grid."""
    r1 = to_f16(a1)
    r2 = to_f16(a2)
    b1, b2, err = _assign(w, p, r1, r2)
    idx = np.arange(w.shape[1])
    for _ in range(4 * MAX_ITERS):
        ws, ps = w[:, idx], p[:, idx]
        c1, c2 = b1[:, idx], b2[:, idx]
        x1, x2, e0 = r1[idx], r2[idx], err[idx]
        s11, s22, s12, n_r1, n_r2 = _normal(ws, ps, c1, c2)
        changed = np.zeros(idx.size, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            n1 = np.where(s11 > 0, to_f16((n_r1 - x2 * s12) / np.where(s11 > 0, s11, 1)), x1)
        e = _group_error(ws, ps, n1, x2, c1, c2)
        acc = (n1 != x1) & (e < e0)
        x1 = np.where(acc, n1, x1)
        e0 = np.where(acc, e, e0)
        changed |= acc
        with np.errstate(divide="ignore", invalid="ignore"):
            n2 = np.where(s22 > 0, to_f16((n_r2 - x1 * s12) / np.where(s22 > 0, s22, 1)), x2)
        e = _group_error(ws, ps, x1, n2, c1, c2)
        acc = (n2 != x2) & (e < e0)
        x2 = np.where(acc, n2, x2)
        e0 = np.where(acc, e, e0)
        changed |= acc
        n_b1, n_b2, e = _assign(ws, ps, x1, x2)
        changed |= e < e0
        r1[idx], r2[idx], err[idx] = x1, x2, e
        b1[:, idx], b2[:, idx] = n_b1, n_b2
        idx = idx[changed]
        if idx.size == 0:
            break
    return b1, b2, r1, r2, err


def fit_groups(w: np.ndarray, method: str = "fdb", imp: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fits N groups (rows of `w`, shape (N, g), f32 values) like fitGroup. `imp` (g,) or (N, g) weighs each
    column's squared error (activation-aware fit). Returns b1, b2 (N, g) uint8 and a1, a2, err (N,) float64
    (a1, a2 f16-exact)."""
    if method not in ("fdb", "rtn"):
        raise ValueError(f"method must be fdb or rtn, got {method!r}")
    W = np.ascontiguousarray(np.asarray(w, dtype=np.float32).astype(np.float64).T)  # (g, N)
    g, N = W.shape
    if imp is None:
        P = np.ones_like(W)
    else:
        P = np.asarray(imp, dtype=np.float64)
        P = np.ascontiguousarray(np.broadcast_to(P.T if P.ndim == 2 else P[:, None], W.shape))
    b1 = np.zeros((g, N), dtype=np.uint8)
    b2 = np.zeros((g, N), dtype=np.uint8)
    a1 = np.zeros(N)
    a2 = np.zeros(N)
    err = np.zeros(N)
    with np.errstate(invalid="ignore"):
        amax = np.abs(W).max(axis=0)
    live = np.nonzero((amax != 0) & np.isfinite(amax))[0]
    if live.size:
        Wl, Pl = W[:, live], P[:, live]
        s = amax[live] / 2
        if method == "rtn":
            x1, x2 = to_f16(-2 * s), to_f16(s)
            c1, c2, e = _assign(Wl, Pl, x1, x2)
        else:
            mn, mx = Wl.min(axis=0), Wl.max(axis=0)
            best_e = np.full(live.size, np.inf)
            x1 = np.zeros(live.size)
            x2 = np.zeros(live.size)
            c1 = np.zeros(Wl.shape, dtype=np.uint8)
            c2 = np.zeros(Wl.shape, dtype=np.uint8)
            third = (mx > 0) & (mn < 0)
            for k, (i1, i2) in enumerate([(2 * s, -s), (-2 * s, s), (mx, mn)]):
                sel = np.arange(live.size) if k < 2 else np.nonzero(third)[0]
                if sel.size == 0:
                    continue
                r1, r2, re, rc1, rc2 = _als(Wl[:, sel], Pl[:, sel], i1[sel], i2[sel])
                better = re < best_e[sel]
                u = sel[better]
                best_e[u] = re[better]
                x1[u] = r1[better]
                x2[u] = r2[better]
                c1[:, u] = rc1[:, better]
                c2[:, u] = rc2[:, better]
            c1, c2, x1, x2, e = _store_f16(Wl, Pl, c1, c2, x1, x2)
        b1[:, live], b2[:, live] = c1, c2
        a1[live], a2[live], err[live] = x1, x2, e
    return np.ascontiguousarray(b1.T), np.ascontiguousarray(b2.T), a1, a2, err


def fit_matrix(w: np.ndarray, g: int, method: str = "fdb", imp: Optional[np.ndarray] = None, chunk_groups: int = 1 << 15):
    """Fits a (rows, cols) matrix with group size g (cols % g == 0), groups along each row, in chunks. `imp` is
    one importance per input column (cols,). Returns b1, b2 (rows, cols) uint8 and a1, a2 (rows, cols/g)."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    if cols % g:
        raise ValueError(f"{cols} columns are not a multiple of the group size {g}")
    G = cols // g
    flat = w.reshape(rows * G, g)
    impg = None
    if imp is not None:
        impg = np.tile(np.asarray(imp, dtype=np.float64).reshape(G, g), (rows, 1))
    b1 = np.empty((rows * G, g), dtype=np.uint8)
    b2 = np.empty((rows * G, g), dtype=np.uint8)
    a1 = np.empty(rows * G)
    a2 = np.empty(rows * G)
    for s in range(0, rows * G, chunk_groups):
        e = min(rows * G, s + chunk_groups)
        r = fit_groups(flat[s:e], method, None if impg is None else impg[s:e])
        b1[s:e], b2[s:e], a1[s:e], a2[s:e] = r[0], r[1], r[2], r[3]
    return b1.reshape(rows, cols), b2.reshape(rows, cols), a1.reshape(rows, G), a2.reshape(rows, G)


def group_for(K: int, requested: int) -> Optional[int]:
    """groupFor of src/conversion/quantize.ts: the requested group size when it divides K, else the largest that does."""
    for g in (requested, 128, 64, 32):
        if g <= requested and K % g == 0:
            return g
    return None
