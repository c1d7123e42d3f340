"""Device choice, precision and the version fallbacks (this suite runs on CPU, with PyTorch 1.13 in CI)."""
import pytest
import torch

from conftest import random_tensors, tiny_config
from dbllm_train.device import DeviceError, maybe_compile, resolve_device, resolve_precision
from dbllm_train.model import build_teacher


def test_auto_is_cuda_when_present_and_cuda_without_it_is_an_error():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA device"):
            resolve_device("cuda")
        with pytest.raises(DeviceError, match="no CUDA device"):
            resolve_device("cuda:1")
    with pytest.raises(DeviceError, match="expected auto, cpu, cuda"):
        resolve_device("tpu")


def test_precision_defaults_to_fp32_on_cpu():
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(DeviceError):
        resolve_precision("fp8", torch.device("cpu"))


def test_compile_falls_back_to_eager_where_torch_has_none():
    f = lambda x: x + 1  # noqa: E731
    notes = []
    g = maybe_compile(f, False, notes.append)
    assert g is f and notes == []
    if not hasattr(torch, "compile"):
        assert maybe_compile(f, True, notes.append) is f and "no torch.compile" in notes[0]


def test_a_bf16_teacher_stays_close_to_the_fp32_teacher():
    cfg = tiny_config()
    t = random_tensors(cfg, 5)
    x = torch.randint(0, cfg.vocabSize, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = build_teacher(cfg, t)(x)
        b = build_teacher(cfg, t, torch.bfloat16)(x)
    rel = float((a - b).abs().max() / a.abs().max())
    print(f"bf16 block matrices vs fp32: max |Δlogit| / max |logit| = {rel:.2e} (bound 3e-2)")
    assert b.dtype == torch.float32 and rel < 3e-2
