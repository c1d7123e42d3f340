"""The canonical model configuration: the same fields, names and meaning as `ModelConfig` in
src/config/model-config.ts (what a .dbllm file stores as `dbllm.config`), and the rotary frequency schedule of
`ropeInvFreq` (src/config/rope.ts). tests/fixtures/config-parity.json holds both to the same answers, refusals
included (python/tests/test_config_parity.py)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional

import numpy as np

SUPPORTED = "llama, qwen2, qwen3 (HF: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)"


class ConfigError(ValueError):
    """A configuration dbllm refuses; `code` is the DbllmError code the runtime refuses it with."""

    def __init__(self, message: str, code: str = "INVALID_CONFIG"):
        super().__init__(message)
        self.code = code


def _unsupported(message: str) -> ConfigError:
    return ConfigError(message, "UNSUPPORTED_ARCHITECTURE")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite_positive(v) -> bool:
    return _is_number(v) and math.isfinite(v) and v > 0


def _number(source: Dict[str, Any], key: str, fallback, where: str):
    """source[key] as a number; `fallback` when it is absent or null, an error when there is none."""
    v = source.get(key)
    if v is None:
        if fallback is None:
            raise ConfigError(f"{where} {key} is missing")
        return fallback
    if not _is_number(v):
        raise ConfigError(f"{where} {key} is not a number")
    return v


def _is_size(v) -> bool:
    """A whole number as JavaScript's Number.isSafeInteger sees one (256.0 is one)."""
    return _is_number(v) and math.isfinite(v) and float(v).is_integer() and abs(v) <= 2 ** 53 - 1


@dataclass
class ModelConfig:
    architecture: str  # llama | qwen2 | qwen3
    vocabSize: int
    dim: int
    nLayers: int
    nHeads: int
    nKvHeads: int
    headDim: int
    ffnDim: int
    normEps: float
    ropeTheta: float
    ropeDim: int
    ropeLayout: str  # interleaved | neox
    ropeScaling: Dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    contextLength: int = 2048
    slidingWindow: int = 0
    tiedEmbeddings: bool = False
    qkNorm: bool = False

    def to_json(self) -> str:
        # field order as the TS config object (JSON.stringify keeps insertion order)
        return json.dumps(asdict(self), separators=(",", ":"))

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "ModelConfig":
        keys = ModelConfig.__dataclass_fields__.keys()
        c = ModelConfig(**{k: d[k] for k in keys if k in d})
        return validate(c, "config")


def validate(c: ModelConfig, origin: str) -> ModelConfig:
    """validateConfig of src/config/model-config.ts: every field in the range the forward pass runs."""
    if c.architecture not in ("llama", "qwen2", "qwen3"):
        raise _unsupported(f"{origin}: architecture {c.architecture!r} is not supported (supported: {SUPPORTED})")
    for k in ["vocabSize", "dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim", "ropeDim", "contextLength"]:
        v = getattr(c, k)
        if not _is_size(v) or v <= 0 or v > 1 << 24:
            raise ConfigError(f"{origin}: {k} = {v} is not a valid size")
    if c.nHeads % c.nKvHeads:
        raise ConfigError(f"{origin}: {c.nHeads} attention heads are not a multiple of {c.nKvHeads} kv heads")
    if c.ropeDim > c.headDim or c.ropeDim % 2:
        raise ConfigError(f"{origin}: rope dimension {c.ropeDim} does not fit head size {c.headDim}")
    if not (_finite_positive(c.normEps) and c.normEps < 1):
        raise ConfigError(f"{origin}: norm epsilon {c.normEps} is invalid")
    if not _finite_positive(c.ropeTheta):
        raise ConfigError(f"{origin}: rope theta {c.ropeTheta} is not a finite positive number")
    if not _is_size(c.slidingWindow) or c.slidingWindow < 0:
        raise ConfigError(f"{origin}: sliding window {c.slidingWindow} is invalid")
    if c.ropeLayout not in ("interleaved", "neox"):
        raise ConfigError(f"{origin}: rope layout {c.ropeLayout!r} is invalid")
    _validate_rope_scaling(c.ropeScaling, origin)
    return c


def _validate_rope_scaling(s, origin: str) -> None:
    """validateRopeScaling of src/config/model-config.ts: what rope_inv_freq can compute."""
    if not isinstance(s, dict):
        raise ConfigError(f"{origin}: rope scaling {s!r} is not an object")
    t = s.get("type")
    if t == "none":
        return
    if t not in ("linear", "llama3"):
        raise _unsupported(f"{origin}: rope scaling {t!r} is not supported (none, linear, llama3)")
    if not _finite_positive(s.get("factor")):
        raise ConfigError(f"{origin}: rope scaling factor {s.get('factor')} is not a finite positive number")
    if t == "linear":
        return
    low, high, n = s.get("lowFreqFactor"), s.get("highFreqFactor"), s.get("originalContext")
    if not _finite_positive(low):
        raise ConfigError(f"{origin}: rope scaling low frequency factor {low} is not a finite positive number")
    if not (_finite_positive(high) and high > low):
        raise ConfigError(f"{origin}: rope scaling high frequency factor {high} must be finite and larger than the low one ({low})")
    if not _is_size(n) or n < 1:
        raise ConfigError(f"{origin}: rope scaling original context {n} is not a positive integer")


def config_from_gguf(fields: Dict[str, Any], tensor_names: set, origin: str) -> ModelConfig:
    """configFromGGUF of src/config/from-gguf.ts; `fields` maps metadata keys to plain Python values."""
    arch = fields.get("general.architecture")
    if arch is None:
        raise ConfigError(f"{origin}: general.architecture is missing")
    if arch not in ("llama", "qwen2", "qwen3"):
        raise _unsupported(f"{origin}: architecture {arch!r} is not supported (supported: {SUPPORTED})")

    def num(key: str, fallback=None):
        return _number(fields, f"{arch}.{key}", fallback, f"{origin}: metadata")

    def f32num(key: str, fallback: float) -> float:
        """A float the file stores as f32 (read exactly as stored), or the default as it stands."""
        return fallback if fields.get(f"{arch}.{key}") is None else _f32(num(key))

    dim = int(num("embedding_length"))
    n_heads = int(num("attention.head_count"))
    head_dim = int(num("attention.key_length", dim // n_heads))
    tokens = fields.get("tokenizer.ggml.tokens")
    vocab = int(num("vocab_size", len(tokens) if tokens is not None else 0))
    scaling_type = fields.get(f"{arch}.rope.scaling.type", "none")
    if scaling_type == "none":
        scaling: Dict[str, Any] = {"type": "none"}
    elif scaling_type == "linear":
        scaling = {"type": "linear", "factor": float(num("rope.scaling.factor", 1))}
    else:
        raise _unsupported(f"{origin}: rope scaling {scaling_type!r} is not supported (none, linear; llama3 comes as the rope_freqs tensor)")
    c = ModelConfig(
        architecture=arch, vocabSize=vocab, dim=dim, nLayers=int(num("block_count")), nHeads=n_heads,
        nKvHeads=int(num("attention.head_count_kv", n_heads)), headDim=head_dim, ffnDim=int(num("feed_forward_length")),
        normEps=f32num("attention.layer_norm_rms_epsilon", 1e-5), ropeTheta=f32num("rope.freq_base", 10000),
        ropeDim=int(num("rope.dimension_count", head_dim)), ropeLayout="interleaved" if arch == "llama" else "neox",
        ropeScaling=scaling, contextLength=int(num("context_length", 2048)),
        slidingWindow=int(num("attention.sliding_window", 0)), tiedEmbeddings="output.weight" not in tensor_names,
        qkNorm=arch == "qwen3",
    )
    return validate(c, origin)


def _f32(v) -> float:
    """GGUF floats are f32; the TS reader widens them to f64 exactly, and so do we."""
    return float(np.float32(v))


HF_ARCHS = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}


def config_from_hf(cfg: Dict[str, Any], origin: str) -> ModelConfig:
    """configFromHF of src/config/from-hf.ts."""
    archs = cfg.get("architectures") or []
    hf_arch = next((a for a in archs if a in HF_ARCHS), None)
    if hf_arch is None:
        raise _unsupported(f"{origin}: architectures {archs} are not supported (supported: {SUPPORTED})")
    arch = HF_ARCHS[hf_arch]

    def num(key: str, fallback=None):
        return _number(cfg, key, fallback, f"{origin}:")

    if cfg.get("mlp_bias") is True:
        raise _unsupported(f"{origin}: mlp_bias is not supported")
    dim = num("hidden_size")
    n_heads = num("num_attention_heads")
    head_dim = num("head_dim", dim // n_heads)
    rs = cfg.get("rope_scaling")
    scaling: Dict[str, Any] = {"type": "none"}
    if rs is not None:
        if not isinstance(rs, dict):
            raise ConfigError(f"{origin}: rope_scaling is not an object")
        t = rs.get("rope_type") if rs.get("rope_type") is not None else rs.get("type")

        def f(key, d=None):
            v = rs.get(key)
            if _is_number(v):
                return v
            if d is not None:
                return d
            raise ConfigError(f"{origin}: rope_scaling.{key} is missing")

        if t == "linear":
            scaling = {"type": "linear", "factor": f("factor")}
        elif t == "llama3":
            scaling = {"type": "llama3", "factor": f("factor"), "lowFreqFactor": f("low_freq_factor", 1),
                       "highFreqFactor": f("high_freq_factor", 4), "originalContext": f("original_max_position_embeddings", 8192)}
        elif t != "default":
            raise _unsupported(f"{origin}: rope scaling {t!r} is not supported (linear, llama3)")
    partial = cfg.get("partial_rotary_factor", 1)
    if not _is_number(partial):
        partial = 1
    window = num("sliding_window", 0) if arch == "llama" else (num("sliding_window", 0) if cfg.get("use_sliding_window") is True else 0)
    c = ModelConfig(
        architecture=arch, vocabSize=num("vocab_size"), dim=dim, nLayers=num("num_hidden_layers"), nHeads=n_heads,
        nKvHeads=num("num_key_value_heads", n_heads), headDim=head_dim, ffnDim=num("intermediate_size"),
        normEps=num("rms_norm_eps", 1e-6), ropeTheta=num("rope_theta", 10000), ropeDim=int(_js_round(head_dim * partial)),
        ropeLayout="neox", ropeScaling=scaling, contextLength=num("max_position_embeddings", 2048),
        slidingWindow=window or 0, tiedEmbeddings=cfg.get("tie_word_embeddings") is True, qkNorm=arch == "qwen3",
    )
    return validate(c, origin)


def _js_round(v: float) -> int:
    return int(math.floor(v + 0.5))


def rope_inv_freq(c: ModelConfig, freq_factors: Optional[np.ndarray] = None) -> np.ndarray:
    """ropeInvFreq of src/config/rope.ts, in float64."""
    half = c.ropeDim // 2
    inv = np.array([math.pow(c.ropeTheta, -(2 * i) / c.ropeDim) for i in range(half)], dtype=np.float64)
    s = c.ropeScaling or {"type": "none"}
    if s["type"] == "linear":
        inv = inv / s["factor"]
    if s["type"] == "llama3":
        low = s["originalContext"] / s["lowFreqFactor"]
        high = s["originalContext"] / s["highFreqFactor"]
        for i in range(half):
            wavelen = (2 * math.pi) / inv[i]
            if wavelen > low:
                inv[i] /= s["factor"]
            elif wavelen >= high:
                smooth = (s["originalContext"] / wavelen - s["lowFreqFactor"]) / (s["highFreqFactor"] - s["lowFreqFactor"])
                inv[i] = (1 - smooth) * (inv[i] / s["factor"]) + smooth * inv[i]
    if freq_factors is not None:
        ff = np.asarray(freq_factors, dtype=np.float64).reshape(-1)
        if ff.size != half:
            raise ConfigError(f"rope_freqs has {ff.size} factors, expected {half}", "TENSOR_SHAPE")
        bad = next((i for i in range(half) if not (math.isfinite(ff[i]) and ff[i] > 0)), None)
        if bad is not None:
            raise ConfigError(f"rope_freqs factor {bad} is {ff[bad]}, not a finite positive number", "INVALID_FILE")
        inv = inv / ff
    return inv
