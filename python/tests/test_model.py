"""The PyTorch forward pass: the two RoPE pair layouts agree when q/k rows are permuted as GGUF llama files are,
KV-cache decoding equals the full forward, the GGUF and Hugging Face loaders agree, sliding window and GQA."""
import json
import os

import numpy as np
import torch

from conftest import permute_rows, random_tensors, tiny_config, write_gguf
from dbllm_train.loaders import load_teacher
from dbllm_train.model import build_teacher
from dbllm_train.safetensors_io import write


def test_rope_layouts_agree_under_the_gguf_permutation():
    cfg = tiny_config("llama", layout="neox")
    t = random_tensors(cfg, 1)
    neox = build_teacher(cfg, t)
    cfg2 = tiny_config("llama", layout="interleaved")
    t2 = dict(t)
    for i in range(cfg.nLayers):
        t2[f"blk.{i}.attn_q.weight"] = permute_rows(t[f"blk.{i}.attn_q.weight"], cfg.nHeads)
        t2[f"blk.{i}.attn_k.weight"] = permute_rows(t[f"blk.{i}.attn_k.weight"], cfg.nKvHeads)
    inter = build_teacher(cfg2, t2)
    x = torch.randint(0, cfg.vocabSize, (2, 30), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = neox(x), inter(x)
    assert torch.allclose(a, b, atol=2e-5), float((a - b).abs().max())


def test_kv_cache_decoding_equals_full_forward():
    for arch in ("llama", "qwen2", "qwen3"):
        cfg = tiny_config(arch, window=7 if arch == "llama" else 0)
        m = build_teacher(cfg, random_tensors(cfg, 2))
        x = torch.randint(0, cfg.vocabSize, (2, 20), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            full = m(x)
            caches = m.new_caches()
            parts = [m(x[:, :5], 0, caches)] + [m(x[:, i:i + 1], i, caches) for i in range(5, 20)]
        assert torch.allclose(full, torch.cat(parts, 1), atol=1e-5), arch


def test_sliding_window_limits_attention():
    cfg = tiny_config("llama", window=4, layers=1)
    m = build_teacher(cfg, random_tensors(cfg, 3))
    x = torch.randint(0, cfg.vocabSize, (1, 12), generator=torch.Generator().manual_seed(2))
    y = x.clone()
    y[0, 0] = (x[0, 0] + 1) % cfg.vocabSize  # changes what only the first 4 positions can see
    with torch.no_grad():
        a, b = m(x), m(y)
    assert not torch.allclose(a[0, 3], b[0, 3])
    assert torch.allclose(a[0, 4:], b[0, 4:], atol=1e-6)


def _write_hf(d, cfg, t):
    os.makedirs(d, exist_ok=True)
    from dbllm_train.loaders.hf import HF_LAYER
    inv = {v: k for k, v in HF_LAYER.items()}

    def hf(name):
        if name == "token_embd.weight":
            return "model.embed_tokens.weight"
        if name == "output_norm.weight":
            return "model.norm.weight"
        if name == "output.weight":
            return "lm_head.weight"
        _, i, rest = name.split(".", 2)
        return f"model.layers.{i}.{inv[rest]}"

    json.dump({"architectures": ["LlamaForCausalLM"], "vocab_size": cfg.vocabSize, "hidden_size": cfg.dim, "num_hidden_layers": cfg.nLayers,
               "num_attention_heads": cfg.nHeads, "num_key_value_heads": cfg.nKvHeads, "intermediate_size": cfg.ffnDim,
               "rms_norm_eps": cfg.normEps, "rope_theta": cfg.ropeTheta, "max_position_embeddings": cfg.contextLength,
               "tie_word_embeddings": cfg.tiedEmbeddings}, open(os.path.join(d, "config.json"), "w"))
    json.dump({"model": {"type": "BPE", "vocab": {}, "merges": []}}, open(os.path.join(d, "tokenizer.json"), "w"))
    write(os.path.join(d, "model.safetensors"), [(hf(n), a.astype(np.float16).astype(np.float32)) for n, a in t.items()], {"format": "pt"}, 8)


def test_gguf_and_hf_loaders_give_the_same_model(tmp_path):
    cfg = tiny_config("llama", dim=64, heads=4, kv=2)
    t = {k: v.astype(np.float16).astype(np.float32) for k, v in random_tensors(cfg, 4).items()}
    g = str(tmp_path / "m.gguf")
    write_gguf(g, cfg, t)
    _write_hf(str(tmp_path / "hf"), cfg, t)
    G, H = load_teacher(g), load_teacher(str(tmp_path / "hf"))
    assert G.config.ropeLayout == "interleaved" and H.config.ropeLayout == "neox"
    assert G.format == "gguf" and H.format == "hf"
    tok = json.loads(G.tokenizer)
    assert tok["kind"] == "gguf" and tok["metadata"]["tokenizer.ggml.model"] == {"t": "json", "v": "gpt2"}
    assert tok["metadata"]["tokenizer.ggml.token_type"]["t"] == "i32"
    assert json.loads(H.tokenizer)["kind"] == "hf"
    x = torch.randint(0, cfg.vocabSize, (1, 25), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b = build_teacher(G.config, G.tensors)(x), build_teacher(H.config, H.tensors)(x)
    assert torch.allclose(a, b, atol=2e-5), float((a - b).abs().max())
