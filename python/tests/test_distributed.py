"""Data parallelism through torchrun + DDP on CPU (gloo): two processes with one micro-batch each compute the same
steps as one process accumulating two micro-batches, sharding the optimizer state over them (--zero) changes nothing,
and an interrupted two-process run resumes to the same result.

Why the comparison is exact (the tolerance below is zero, and the test prints the difference it found): the global
batch of a step is split into the same micro-batches either way (micro-batch (step·world + rank)·accum + k of one
stream), each micro-batch's forward and backward run the same operations on the same shapes in both cases, the
gradients are combined by one addition a + b (commutative in IEEE arithmetic), DDP's division by the world size and
the trainer's rescaling by world·tokens/Σw are exact powers-of-two apart, and the loss sums are float64 scalars added
in either order. Any difference would mean the split changed the computation."""
import json
import os
import subprocess
import sys

import torch

from conftest import random_tensors, tiny_config, write_gguf
from dbllm_train.safetensors_io import SafetensorsFile

PY = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# torchrun of PyTorch 1.x on Python ≥ 3.11 cannot parse its own default "--redirects 0 --tee 0" (enum.IntFlag no longer
# lists the zero member when iterated; fixed in PyTorch 2.0): name a non-zero setting, stdout teed to a log folder.
TORCHRUN_FIX = ["--redirects", "1", "--tee", "1"] if int(torch.__version__.split(".")[0]) < 2 and sys.version_info >= (3, 11) else []


def _run(tmp, name, teacher, nproc, extra):
    out = os.path.join(tmp, f"{name}.dbllm")
    args = ["--teacher", teacher, "-o", out, "--device", "cpu", "--threads", "1", "--samples", "8", "--seq-len", "16", "--sample-batch", "4",
            "--steps", "3", "--warmup", "1", "--lr", "3e-3", "--lr-alpha", "3e-3", "--seed", "1", "--gamma", "1", "--checkpoint-every", "1",
            "--log-every", "1", "--workdir", os.path.join(tmp, name + ".work"), "--cache", os.path.join(tmp, name + ".cache"),
            "--summary", os.path.join(tmp, name + ".json"), *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PY, os.environ.get("PYTHONPATH", "")]), OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")
    if nproc == 1:
        cmd = [sys.executable, "-m", "dbllm_train", "distill", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *TORCHRUN_FIX,
               "-m", "dbllm_train", "distill", *args]
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:]
    with open(os.path.join(tmp, name + ".json")) as f:
        summary = json.load(f)
    return summary, _content(out), r.stdout


def _content(path):
    """Everything a .dbllm file holds except its provenance (which names the command, the process count and the
    wall time): every tensor's bytes and the other metadata."""
    st = SafetensorsFile(path)
    md = {k: v for k, v in st.metadata.items() if k != "dbllm.provenance"}
    return md, {name: st.raw(name).tobytes() for name in st.tensors}


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    cfg = tiny_config("llama", dim=64, layers=2, heads=4, kv=2, ffn=128, vocab=96)
    teacher = str(tmp_path / "teacher.gguf")
    write_gguf(teacher, cfg, random_tensors(cfg, 7))
    tmp = str(tmp_path)
    one, one_file, _ = _run(tmp, "one", teacher, 1, ["--batch-size", "2", "--grad-accum", "2"])
    two, two_file, log = _run(tmp, "two", teacher, 2, ["--batch-size", "2", "--grad-accum", "1"])
    assert "rank 0/2 (gloo)" in log and "rank 1/2 (gloo)" in log, log[-2000:]
    la = [h["loss"] for h in one["history"]]
    lb = [h["loss"] for h in two["history"]]
    ka = [h["kl"] for h in one["history"]]
    kb = [h["kl"] for h in two["history"]]
    diff = max(max(abs(x - y) for x, y in zip(la, lb)), max(abs(x - y) for x, y in zip(ka, kb)))
    print(f"1 process x 2 micro-batches vs 2 processes x 1: losses {la} vs {lb}; max |difference| {diff:.3e} (logged to 6 decimals; bound 0; the students are compared bit for bit below)")
    assert len(la) == len(lb) == 3
    assert diff == 0.0
    assert one["budget"]["tokens"] == two["budget"]["tokens"] == 3 * 4 * 16
    assert two["budget"]["processes"] == 2
    assert one_file == two_file, "the exported students differ"

    # the optimizer state sharded over the two processes (ZeRO stage 1) changes where AdamW runs, not what it computes
    zero, zero_file, _ = _run(tmp, "zero", teacher, 2, ["--batch-size", "2", "--grad-accum", "1", "--zero"])
    assert [h["loss"] for h in zero["history"]] == lb
    assert zero_file == two_file, "sharding the optimizer state changed the student"

    # an interrupted two-process run (stopped by its time budget after the first step) resumes to the same file
    _run(tmp, "cut", teacher, 2, ["--batch-size", "2", "--grad-accum", "1", "--time-budget", "1e-9"])
    cut = json.load(open(os.path.join(tmp, "cut.json")))
    assert len(cut["history"]) == 1
    resumed, resumed_file, rlog = _run(tmp, "cut", teacher, 2, ["--batch-size", "2", "--grad-accum", "1", "--resume"])
    assert "resumed from" in rlog and "at step 1/3" in rlog, rlog[-2000:]
    assert [h["loss"] for h in resumed["history"]] == lb
    assert resumed_file == two_file, "the resumed two-process run exported another file"
