"""Shared helpers: tiny random LLaMA-family teachers (no files needed), one thread for determinism."""
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from dbllm_train.config import ModelConfig  # noqa: E402,F401
from dbllm_train.synthetic import random_tensors, tiny_config  # noqa: E402,F401

torch.set_num_threads(1)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "fdb-fit-vector.json")


def permute_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """HF -> GGUF llama q/k row order (convert_hf_to_gguf): pairs (i, i + d/2) become (2i, 2i+1)."""
    rows, cols = w.shape
    hd = rows // heads
    return w.reshape(heads, 2, hd // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def write_gguf(path, cfg, t, arch="llama"):
    """A GGUF file of a random model (F32 tensors, q/k rows permuted as llama.cpp stores them, a dummy vocabulary)."""
    import gguf
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(cfg.nLayers)
    w.add_context_length(cfg.contextLength)
    w.add_embedding_length(cfg.dim)
    w.add_feed_forward_length(cfg.ffnDim)
    w.add_head_count(cfg.nHeads)
    w.add_head_count_kv(cfg.nKvHeads)
    w.add_layer_norm_rms_eps(cfg.normEps)
    w.add_rope_freq_base(cfg.ropeTheta)
    w.add_rope_dimension_count(cfg.ropeDim)
    w.add_vocab_size(cfg.vocabSize)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(cfg.vocabSize)])
    w.add_token_types([1] * cfg.vocabSize)
    w.add_bos_token_id(1)
    for name, a in t.items():
        if arch == "llama" and name.endswith("attn_q.weight"):
            a = permute_rows(a, cfg.nHeads)
        if arch == "llama" and name.endswith("attn_k.weight"):
            a = permute_rows(a, cfg.nKvHeads)
        w.add_tensor(name, np.ascontiguousarray(a, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture
def tiny():
    cfg = tiny_config()
    return cfg, random_tensors(cfg)
