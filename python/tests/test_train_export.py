"""Training mechanics (checkpoint -> resume continues bit for bit; determinism; the loss goes down) and the
export -> re-load round trip (the .dbllm file holds exactly the student)."""
import json
import os

import numpy as np
import pytest
import torch

from conftest import random_tensors, tiny_config
from dbllm_train.cli import load_runtime_model
from dbllm_train.data import sample_from_teacher
from dbllm_train.export import export_dbllm
from dbllm_train.loaders import load_teacher
from dbllm_train.model import build_teacher
from dbllm_train.safetensors_io import SafetensorsFile
from dbllm_train.student import build_student, fdb_init, init_from_dbllm
from dbllm_train.train import TrainConfig, lr_factor, train, trainable_state

TOK = json.dumps({"kind": "hf", "tokenizerJson": {"model": {"type": "BPE"}}, "tokenizerConfig": {}})


def _setup(arch="llama", tied=True, seed=0, g=64):
    cfg = tiny_config(arch, tied=tied)
    t = random_tensors(cfg, seed)
    teacher = build_teacher(cfg, t)
    init = fdb_init(cfg, t, g)
    return cfg, t, teacher, init


def _config(**k):
    base = dict(steps=6, batch_size=2, grad_accum=2, lr=2e-3, lr_alpha=2e-3, warmup=2, seed=5, checkpoint_every=0, log_every=0)
    base.update(k)
    return TrainConfig(**base)


def test_checkpoint_resume_is_bit_identical(tmp_path):
    cfg, t, teacher, init = _setup()
    data = sample_from_teacher(teacher, 6, 16, 1.0, seed=1, batch=3)
    a = build_student(cfg, t, init, 64)
    ra = train(a, teacher, data, _config(), str(tmp_path / "a.pt"), log=lambda s: None)
    b = build_student(cfg, t, init, 64)
    ck = str(tmp_path / "b.pt")
    train(b, teacher, data, _config(), ck, log=lambda s: None, stop_after=3)  # "interrupted" after 3 steps
    b2 = build_student(cfg, t, init, 64)  # a new process would rebuild the student from scratch
    rb = train(b2, teacher, data, _config(), ck, resume=True, log=lambda s: None)
    sa, sb = trainable_state(a), trainable_state(b2)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert [h["loss"] for h in ra["history"]] == [h["loss"] for h in rb["history"]]
    assert rb["steps"] == 6 and rb["tokens"] == 6 * 2 * 2 * 16


def test_training_moves_the_student_toward_the_teacher():
    cfg, t, teacher, init = _setup(seed=2)
    data = sample_from_teacher(teacher, 8, 24, 1.0, seed=3, batch=8)
    s = build_student(cfg, t, init, 64)
    r = train(s, teacher, data, _config(steps=30, lr=1e-3, lr_alpha=1e-3, grad_accum=1, batch_size=4, gamma=1.0), None, log=lambda s: None)
    losses = [h["kl"] for h in r["history"]]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:3]), losses


def test_sampling_is_deterministic():
    cfg, t, teacher, _ = _setup()
    a = sample_from_teacher(teacher, 4, 12, 0.8, seed=9, batch=2)
    b = sample_from_teacher(teacher, 4, 12, 0.8, seed=9, batch=2)
    c = sample_from_teacher(teacher, 4, 12, 0.8, seed=10, batch=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() < cfg.vocabSize


def test_schedule():
    c = TrainConfig(steps=10, warmup=2, min_lr_ratio=0.1)
    f = [lr_factor(s, c) for s in range(10)]
    assert f[0] == 0.5 and f[1] == 1.0 and abs(f[2] - 1.0) < 1e-12 and f[-1] > 0.1 and all(x >= y for x, y in zip(f[1:], f[2:]))


def test_export_reload_round_trip(tmp_path):
    for arch, tied, g in (("llama", True, 64), ("qwen2", False, 64), ("qwen3", True, 64)):
        cfg, t, teacher, init = _setup(arch, tied, seed=4)
        s = build_student(cfg, t, init, g)
        data = sample_from_teacher(teacher, 4, 16, 1.0, seed=1, batch=4)
        train(s, teacher, data, _config(steps=3), None, log=lambda m: None)
        path = str(tmp_path / f"{arch}.dbllm")
        export_dbllm(path, s, t, TOK, {"method": "fdb+dad", "group_size": g}, {"tool": "test", "budget": {"steps": 3}})
        # the file: safetensors with the dbllm metadata, 64-byte aligned data, fdb2 tensors as U8 with logical types
        st = SafetensorsFile(path)
        md = st.metadata
        assert md["format"] == "dbllm" and md["dbllm.version"] == "1" and md["dbllm.tokenizer"] == TOK
        assert json.loads(md["dbllm.config"]) == json.loads(cfg.to_json())
        types = json.loads(md["dbllm.tensor_types"])
        assert types["blk.0.attn_q.weight"] == {"type": f"FDB2_G{g}", "shape": [cfg.nHeads * cfg.headDim, cfg.dim]}
        assert types["token_embd.weight"]["type"] == "Q8_0"
        assert st.tensors["blk.0.attn_q.weight"].dtype == "U8"
        assert st.tensors["blk.0.attn_q.weight"].shape == [cfg.nHeads * cfg.headDim, cfg.dim // g * (g // 4 + 4)]
        assert st.tensors["blk.0.attn_norm.weight"].dtype == "F32"
        assert all((e.begin % 64) == (min(x.begin for x in st.tensors.values()) % 64) for e in st.tensors.values())
        assert min(x.begin for x in st.tensors.values()) % 64 == 0
        assert ("output.weight" in st.tensors) == (not tied)
        assert ("blk.0.attn_q.bias" in st.tensors) == (arch == "qwen2")
        assert ("blk.0.attn_q_norm.weight" in st.tensors) == (arch == "qwen3")
        # re-loaded with the runtime's activation quantization: the same logits, bit for bit
        m, T = load_runtime_model(path)
        assert T.format == "dbllm"
        x = torch.randint(0, cfg.vocabSize, (2, 20), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert torch.equal(m(x), s(x)), arch
        # and as a teacher for another round (dequantized exactly)
        for name, layer in s.fdb_layers():
            b1, b2 = layer.binaries()
            a1 = layer.alpha1.detach().repeat_interleave(g, 1)
            a2 = layer.alpha2.detach().repeat_interleave(g, 1)
            assert np.array_equal(T.tensors[name], (a1 * b1 + a2 * b2).numpy()), name


def test_blockwise_reconstruction_lowers_each_blocks_error():
    cfg, t, teacher, init = _setup(seed=6)
    data = sample_from_teacher(teacher, 8, 16, 1.0, seed=2, batch=8)
    s = build_student(cfg, t, init, 64)
    r = train(s, teacher, data, _config(steps=1, blockwise_steps=25, blockwise_lr=1e-3, batch_size=4), None, log=lambda m: None)
    blocks = r["blockwise"]["blocks"]
    assert len(blocks) == cfg.nLayers
    assert all(b["last"] < b["first"] for b in blocks), blocks


def test_init_from_a_dbllm_file_takes_its_scales(tmp_path):
    # a student exported after training; a new student initialised from that file starts with its scales exactly
    cfg, t, teacher, init = _setup(seed=6)
    s = build_student(cfg, t, init, 64)
    data = sample_from_teacher(teacher, 4, 16, 1.0, seed=1, batch=4)
    train(s, teacher, data, _config(steps=2), None, log=lambda m: None)
    path = str(tmp_path / "s.dbllm")
    export_dbllm(path, s, t, TOK, {"method": "fdb+dad", "group_size": 64}, {"tool": "test"})
    table = init_from_dbllm(path, cfg, 64)
    for name, layer in s.fdb_layers():
        a1, a2 = table[name]
        assert np.array_equal(a1, layer.alpha1.detach().numpy()) and np.array_equal(a2, layer.alpha2.detach().numpy()), name
    # a file of another group size is refused with a clear message
    with pytest.raises(ValueError, match="FDB2_G128"):
        init_from_dbllm(path, cfg, 128)


def test_chat_samples_start_with_their_prompt_and_are_deterministic():
    from dbllm_train.data import chat_prefix_order
    cfg, t, teacher, _ = _setup()
    prefixes = [[1, 5, 7], [1, 9], [1, 4, 4, 4, 2]]
    a = sample_from_teacher(teacher, 7, 10, 0.9, seed=4, batch=3, prefixes=prefixes)
    b = sample_from_teacher(teacher, 7, 10, 0.9, seed=4, batch=3, prefixes=prefixes)
    assert torch.equal(a, b)
    order = chat_prefix_order(len(prefixes), 7, 4)
    assert sorted(order[:3]) == [0, 1, 2] and sorted(order[3:6]) == [0, 1, 2]  # every prompt once per round
    for row, k in zip(a.tolist(), order):
        assert row[:len(prefixes[k])] == prefixes[k]
    # what follows a prompt is the teacher's own: greedy continuation equals argmax decoding of the prompt
    g = sample_from_teacher(teacher, 1, 8, 0.0, seed=0, batch=1, prefixes=[prefixes[2]])[0]
    with torch.no_grad():
        nxt = int(teacher(g[None, :5])[0, -1].argmax())
    assert int(g[5]) == nxt


def test_sampling_does_not_depend_on_how_batches_are_shared_out():
    """Batch b draws from its own generator (seed, b): a batch sampled on its own, as rank b % 2 of two processes
    does, equals the same batch of a one-process run."""
    from dbllm_train import data as D
    cfg, t, teacher, _ = _setup()
    whole = sample_from_teacher(teacher, 5, 6, 1.0, seed=2, batch=2)
    for b in range(3):
        n = min(2, 5 - 2 * b)
        rows = D.sample_batch(teacher, n, 6, D._batch_generator(torch.device("cpu"), 2, b), 1.0)
        assert torch.equal(rows, whole[2 * b:2 * b + n]), b
