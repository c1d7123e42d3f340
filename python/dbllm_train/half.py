"""f16 rounding exactly as src/quant/half.ts: a float64 value is first rounded to f32 (Float32Array store), then
to f16 with round-to-nearest-even (overflow to ±inf, subnormals kept). numpy's casts do both roundings the same
way."""
import numpy as np


def to_f16(v):
    """Nearest f16 value (as float64), through f32 like `toF16` of src/quant/fdb.ts. Scalar or array."""
    with np.errstate(over="ignore"):
        return np.asarray(v, dtype=np.float64).astype(np.float32).astype(np.float16).astype(np.float64)


def f16_bits(v) -> np.ndarray:
    """IEEE binary16 bit patterns (uint16) of `v`, rounded through f32 like f32ToF16."""
    with np.errstate(over="ignore"):
        return np.asarray(v, dtype=np.float64).astype(np.float32).astype(np.float16).view(np.uint16)


def f16_from_bits(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)
