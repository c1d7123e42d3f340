"""The trainer's FDB initialisation equals `dbllm quantize` (src/quant/fdb.ts fitGroup) bit for bit on the shared
vector tests/fixtures/fdb-fit-vector.json (written by scripts/make-fdb-vector.ts)."""
import json

import numpy as np
import torch

from conftest import FIXTURE, random_tensors, tiny_config
from dbllm_train.fdb_fit import fit_groups, fit_matrix
from dbllm_train.half import f16_bits
from dbllm_train.student import build_student, fdb_init


def _bits(strings):
    return np.array([[int(ch) for ch in s] for s in strings], dtype=np.uint8)


def test_fit_equals_typescript_on_shared_vector():
    v = json.load(open(FIXTURE))
    assert len(v["cases"]) >= 10
    groups = 0
    for c in v["cases"]:
        g = c["g"]
        w = np.array(c["weights"], dtype=np.float32).reshape(-1, g)
        imp = None if c["imp"] is None else np.array(c["imp"], dtype=np.float64)
        b1, b2, a1, a2, err = fit_groups(w, c["method"], imp)
        assert (b1 == _bits(c["b1"])).all(), c["name"]
        assert (b2 == _bits(c["b2"])).all(), c["name"]
        assert (a1 == np.array(c["a1"])).all(), c["name"]
        assert (a2 == np.array(c["a2"])).all(), c["name"]
        assert (f16_bits(a1) == np.array(c["h1"])).all(), c["name"] + " (f16 bits, sign of zero)"
        assert (f16_bits(a2) == np.array(c["h2"])).all(), c["name"] + " (f16 bits, sign of zero)"
        assert (err == np.array(c["err"])).all(), c["name"] + " (error, float64 bit for bit)"
        groups += len(c["a1"])
    print(f"{groups} groups identical to src/quant/fdb.ts")


def test_fit_matrix_chunks_rows_into_groups():
    v = json.load(open(FIXTURE))
    c = next(c for c in v["cases"] if c["name"] == "gaussian-g64")
    w = np.array(c["weights"], dtype=np.float32).reshape(8, -1)  # 8 rows of 6 groups
    b1, b2, a1, a2 = fit_matrix(w, 64, chunk_groups=5)
    assert (b1.reshape(-1, 64) == _bits(c["b1"])).all()
    assert (a1.reshape(-1) == np.array(c["a1"])).all() and (a2.reshape(-1) == np.array(c["a2"])).all()


def test_student_starts_from_the_fit():
    cfg = tiny_config()
    t = random_tensors(cfg, 3)
    init = fdb_init(cfg, t, 64)
    s = build_student(cfg, t, init, 64)
    for name, layer in s.fdb_layers():
        b1, b2, a1, a2 = fit_matrix(t[name], 64)
        lb1, lb2 = layer.binaries()
        assert (lb1.numpy() == b1).all() and (lb2.numpy() == b2).all(), name
        assert (layer.alpha1.detach().numpy() == a1.astype(np.float32)).all(), name
        assert (layer.alpha2.detach().numpy() == a2.astype(np.float32)).all(), name
        e1, e2, x1, x2 = layer.export()
        assert (e1 == b1).all() and (x1 == a1.astype(np.float32)).all(), name
