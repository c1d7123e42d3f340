"""Where the trainer runs: device choice (`--device auto|cpu|cuda[:N]`), mixed precision, and the PyTorch features
that differ between versions. CI runs Debian's PyTorch 1.13 on CPU; GPU machines run PyTorch 2.x with CUDA. Every
2.x feature used here (scaled_dot_product_attention, torch.compile, fused AdamW) has a fallback, so the package
imports and trains on both."""
from __future__ import annotations

import contextlib
import inspect
import os
from typing import Optional

import torch
import torch.nn.functional as F


class DeviceError(ValueError):
    """A device was asked for that this machine or this PyTorch cannot provide."""


def resolve_device(name: str = "auto", local_rank: Optional[int] = None) -> torch.device:
    """`auto`: CUDA when present (the process's local rank picks the GPU under torchrun), else CPU. `cuda` without
    an index also follows the local rank. `cuda` on a machine without CUDA is an error, not a silent CPU run."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: this PyTorch ({torch.__version__}) sees no CUDA device; use --device cpu or auto")
        if name == "cuda":
            idx = local_rank if local_rank is not None else 0
        else:
            try:
                idx = int(name.split(":", 1)[1])
            except ValueError:
                raise DeviceError(f"--device {name}: expected cuda or cuda:N") from None
        if idx >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")
        torch.cuda.set_device(idx)
        return torch.device("cuda", idx)
    raise DeviceError(f"--device {name}: expected auto, cpu, cuda or cuda:N")


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return f"{p.name} ({p.total_memory / 2 ** 30:.0f} GiB), torch {torch.__version__}, CUDA {torch.version.cuda}"
    return f"CPU ({torch.get_num_threads()} threads), torch {torch.__version__}"


def resolve_precision(name: str, device: torch.device) -> str:
    """`auto`: bf16 autocast for the matrix products on CUDA devices that support it, fp32 elsewhere (CPU bf16
    matmuls are slower than fp32 on most CPUs and PyTorch 1.13)."""
    name = (name or "auto").lower()
    if name == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if name not in ("bf16", "fp32"):
        raise DeviceError(f"--precision {name}: expected auto, bf16 or fp32")
    return name


def autocast(device: torch.device, precision: str):
    """Mixed precision for the matrix products (weights, scales, latent weights and optimizer state stay float32;
    losses and softmaxes are computed in float32)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def setup_matmul(device: torch.device) -> None:
    """TF32 for the fp32 matrix products that remain on CUDA (Ampere and later)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


HAS_SDPA = hasattr(F, "scaled_dot_product_attention")
HAS_COMPILE = hasattr(torch, "compile")


def fused_adamw_supported(device: torch.device) -> bool:
    return device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW.__init__).parameters


def maybe_compile(fn, enabled: bool, log=lambda s: None):
    """torch.compile(fn) when asked and available (PyTorch ≥ 2.0); otherwise fn, with a note."""
    if not enabled:
        return fn
    if not HAS_COMPILE:
        log(f"--compile: torch {torch.__version__} has no torch.compile; running eagerly")
        return fn
    try:  # each batch shape, grad mode and first-block input compiles once; allow more than the default 8
        import torch._dynamo.config as dc
        for k in ("recompile_limit", "cache_size_limit"):
            if hasattr(dc, k) and getattr(dc, k) < 64:
                setattr(dc, k, 64)
    except Exception:  # pragma: no cover - a PyTorch without these knobs
        pass
    return torch.compile(fn, dynamic=False)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_bytes(device: torch.device) -> int:
    """Peak allocated device memory (CUDA), or the process's peak resident set size (CPU)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        import resource
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(r) * (1 if os.uname().sysname == "Darwin" else 1024)
    except Exception:  # pragma: no cover - platforms without resource
        return 0
