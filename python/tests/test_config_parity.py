"""The trainer reads model configurations exactly as the runtime does: every case of the shared vector
tests/fixtures/config-parity.json (written from src/config/ by scripts/make-config-vector.ts) — HF config.json
files and GGUF metadata covering rope scaling (none, linear, llama3, rope_freqs factors), partial rotary, sliding
windows and refusals — gives the same ModelConfig, the same rotary frequencies and the same refusal code, and the
constants both readers share agree."""
import json
import os
from dataclasses import asdict

import numpy as np
import pytest

from conftest import REPO
from dbllm_train import safetensors_io
from dbllm_train.config import ConfigError, config_from_gguf, config_from_hf, rope_inv_freq

VECTOR = json.load(open(os.path.join(REPO, "tests", "fixtures", "config-parity.json")))


def _check(read, freq_factors, expect):
    if "error" in expect:
        with pytest.raises(ConfigError) as refused:
            rope_inv_freq(read(), freq_factors)
        assert refused.value.code == expect["error"], str(refused.value)
        return
    c = read()
    assert asdict(c) == expect["config"]
    inv = rope_inv_freq(c, freq_factors)
    want = np.array(expect["invFreq"], dtype=np.float64)
    # float64 throughout on both sides; pow() of two libms may differ in the last bit
    assert inv.shape == want.shape and np.allclose(inv, want, rtol=4e-16, atol=0), np.max(np.abs(inv / want - 1))


@pytest.mark.parametrize("case", VECTOR["hf"], ids=[c["name"] for c in VECTOR["hf"]])
def test_hf_config_as_the_runtime_reads_it(case):
    _check(lambda: config_from_hf(case["config"], "config.json"), None, case["expect"])


@pytest.mark.parametrize("case", VECTOR["gguf"], ids=[c["name"] for c in VECTOR["gguf"]])
def test_gguf_metadata_as_the_runtime_reads_it(case):
    factors = None if case["freqFactors"] is None else np.array(case["freqFactors"], dtype=np.float32)
    _check(lambda: config_from_gguf(case["metadata"], set(case["tensors"]), "model.gguf"), factors, case["expect"])


def test_the_vector_covers_what_it_promises():
    cases = VECTOR["hf"] + VECTOR["gguf"]
    accepted = [c["expect"]["config"] for c in cases if "config" in c["expect"]]
    assert {s["ropeScaling"]["type"] for s in accepted} == {"none", "linear", "llama3"}
    assert any(c["ropeDim"] < c["headDim"] for c in accepted) and any(c["slidingWindow"] > 0 for c in accepted)
    assert {c["expect"].get("error") for c in cases} >= {"INVALID_CONFIG", "UNSUPPORTED_ARCHITECTURE", "TENSOR_SHAPE", "INVALID_FILE"}


def test_shared_constants():
    assert safetensors_io.MAX_HEADER == VECTOR["constants"]["safetensorsMaxHeader"]
