"""python -m dbllm_train distill | eval | parity-fixture  (docs/DISTILL.md)."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from . import __version__

DISTILL_EXAMPLE = "python -m dbllm_train distill --teacher model.gguf -o model-dad.dbllm --group-size 64 --gamma 1 --steps 500"


def _log(msg: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def distill_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--teacher", required=True, help="teacher model: .gguf file, .dbllm file or Hugging Face directory")
    p.add_argument("-o", "--output", required=True, help="the distilled .dbllm file to write")
    q = p.add_argument_group("student")
    q.add_argument("--group-size", type=int, default=64, choices=[64, 128], help="weights per (α1, α2) pair (default 64)")
    q.add_argument("--init", default="fdb", choices=["fdb", "rtn"], help="initial fit: FDB (as dbllm quantize, default) or 2-bit RTN")
    q.add_argument("--init-from", metavar="FILE.dbllm", help="take the initial scales from an FDB .dbllm of the same model, e.g. the "
                   "activation-aware fit of `dbllm quantize --calib text.txt` (overrides --init)")
    q.add_argument("--init-state", metavar="CHECKPOINT.pt", help="continue training a student: its latent weights and scales from a "
                   "checkpoint of an earlier run of the same teacher and group size (fresh optimizer and schedule)")
    q.add_argument("--embed", default="q8", choices=["q8", "f16"], help="stored token embeddings (default q8)")
    q.add_argument("--head", default="q8", choices=["q8", "f16"], help="stored untied output head (default q8)")
    q.add_argument("--ste", default="identity", choices=["identity", "clipped"], help="straight-through estimator for the latent weights")
    q.add_argument("--no-act-quant", action="store_true", help="train without simulating the runtime's int8 activations")
    q.add_argument("--no-head-act-quant", action="store_true", help="train without simulating the q8 head's 7-bit activations")
    l = p.add_argument_group("loss")
    l.add_argument("--gamma", type=float, default=1.0, help="DAD exponent γ (0 = plain KD; default 1)")
    l.add_argument("--weighting", default="both", choices=["both", "teacher"], help="entropies in the token weight (default both)")
    d = p.add_argument_group("data")
    d.add_argument("--samples", type=int, default=256, help="calibration sequences sampled from the teacher (default 256)")
    d.add_argument("--seq-len", type=int, default=256, help="tokens per training sequence (default 256)")
    d.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1)")
    d.add_argument("--top-k", type=int, default=0, help="sampling top-k (0 = off)")
    d.add_argument("--first-token", default="random", choices=["random", "bos"], help="first token of a sample (default random)")
    d.add_argument("--sample-batch", type=int, default=16, help="sequences sampled at once")
    d.add_argument("--text", action="append", default=[], help="real text to add (.txt, tokenized by the dbllm runtime, or .json ids); repeatable")
    d.add_argument("--val-samples", type=int, default=0, help="extra sampled sequences held out for a validation KL")
    t = p.add_argument_group("training")
    t.add_argument("--steps", type=int, default=200)
    t.add_argument("--batch-size", type=int, default=4, help="sequences per micro-batch (default 4)")
    t.add_argument("--grad-accum", type=int, default=1)
    t.add_argument("--lr", type=float, default=5e-5, help="latent weights (default 5e-5)")
    t.add_argument("--lr-alpha", type=float, default=1e-4, help="scales α1, α2 (default 1e-4)")
    t.add_argument("--warmup", type=int, default=10)
    t.add_argument("--min-lr-ratio", type=float, default=0.0)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--max-grad-norm", type=float, default=1.0)
    t.add_argument("--blockwise-steps", type=int, default=0, help="block-wise reconstruction steps per block before end-to-end (default 0)")
    t.add_argument("--blockwise-lr", type=float, default=1e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    r = p.add_argument_group("checkpoints and logs")
    r.add_argument("--workdir", help="checkpoint and log directory (default: <output>.work)")
    r.add_argument("--cache", help="where the FDB init and the sampled data are cached, shareable between runs (default: the workdir)")
    r.add_argument("--resume", nargs="?", const="auto", help="continue from the workdir's checkpoint (or the given file)")
    r.add_argument("--checkpoint-every", type=int, default=25)
    r.add_argument("--log-every", type=int, default=1)
    r.add_argument("--eval-every", type=int, default=0)
    r.add_argument("--summary", help="write a JSON summary (budget, losses, timing) here")
    return p


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def run_distill(a: argparse.Namespace, argv: Optional[List[str]] = None) -> dict:
    from .data import sample_from_teacher, text_windows, tokenize_file
    from .export import export_dbllm
    from .loaders import load_teacher, sha256_file
    from .model import build_teacher
    from .safetensors_io import SafetensorsFile
    from .student import build_student, fdb_init, init_from_dbllm
    from .train import TrainConfig, load_trainable_state, train

    t0 = time.time()
    if a.threads:
        torch.set_num_threads(a.threads)
    work = a.workdir or (a.output + ".work")
    os.makedirs(work, exist_ok=True)
    cache = a.cache or work
    os.makedirs(cache, exist_ok=True)
    _log(f"loading teacher {a.teacher}")
    T = load_teacher(a.teacher)
    sha = T.sha256()
    cfg = T.config
    _log(f"teacher: {cfg.architecture}, {cfg.nLayers} layers, dim {cfg.dim}, vocab {cfg.vocabSize} ({T.format})")
    teacher = build_teacher(cfg, T.tensors)

    # FDB init, cached per (teacher, group, method)
    init_key = _hash({"sha": sha, "g": a.group_size, "init": a.init} if not a.init_from else
                     {"sha": sha, "g": a.group_size, "init_from": sha256_file(a.init_from)})
    init_path = os.path.join(cache, f"init-{a.init}-g{a.group_size}-{init_key}.npz")
    if a.init_from:
        init = init_from_dbllm(a.init_from, cfg, a.group_size)
        _log(f"fdb init: the scales of {a.init_from}")
    elif os.path.exists(init_path):
        z = np.load(init_path)
        init = {k[:-3]: (z[k], z[k[:-3] + ".a2"]) for k in z.files if k.endswith(".a1")}
        _log(f"fdb init from {init_path}")
    else:
        init = fdb_init(cfg, T.tensors, a.group_size, a.init, log=_log)
        np.savez(init_path, **{f"{k}.a1": v[0] for k, v in init.items()}, **{f"{k}.a2": v[1] for k, v in init.items()})

    # data: the sampled sequences are cached per sampling parameters (shared by runs that add different text;
    # the key keeps an empty "text" entry so caches written before text was split off stay valid); text is
    # tokenized on every run, which takes seconds
    data_spec = {"sha": sha, "samples": a.samples + a.val_samples, "len": a.seq_len, "temp": a.temperature, "top_k": a.top_k,
                 "first": a.first_token, "seed": a.seed, "batch": a.sample_batch, "text": a.text}
    data_path = os.path.join(cache, f"data-{_hash(dict(data_spec, text=[]))}.pt")
    if os.path.exists(data_path):
        sampled = torch.load(data_path)["sampled"]
        _log(f"sampled training data from {data_path}")
    else:
        tok = json.loads(T.tokenizer)
        bos = None
        if tok.get("kind") == "gguf":
            bos = tok["metadata"].get("tokenizer.ggml.bos_token_id", {}).get("v")
        n = a.samples + a.val_samples
        ts = time.time()
        sampled = sample_from_teacher(teacher, n, a.seq_len, a.temperature, a.seed, a.sample_batch, a.first_token, bos, a.top_k, log=_log) \
            if n > 0 else torch.zeros(0, a.seq_len, dtype=torch.long)
        torch.save({"sampled": sampled, "spec": dict(data_spec, text=[]), "sample_seconds": time.time() - ts}, data_path)
    texts = torch.zeros(0, a.seq_len, dtype=torch.long)
    for f in a.text:
        ids = tokenize_file(a.teacher, f)
        texts = torch.cat([texts, text_windows(ids, a.seq_len)])
        _log(f"text {f}: {len(ids)} tokens -> {texts.shape[0]} windows so far")
    val = sampled[a.samples:] if a.val_samples else None
    data = torch.cat([sampled[:a.samples], texts])
    if data.shape[0] == 0:
        raise SystemExit("no training data: use --samples N and/or --text FILE")

    student = build_student(cfg, T.tensors, init, a.group_size, a.embed, a.head, not a.no_act_quant, not a.no_head_act_quant, a.ste)
    if a.init_state:
        load_trainable_state(student, torch.load(a.init_state)["trainable"])
        _log(f"student state (latent weights and scales) from {a.init_state}")
    tc = TrainConfig(steps=a.steps, batch_size=a.batch_size, grad_accum=a.grad_accum, lr=a.lr, lr_alpha=a.lr_alpha,
                     weight_decay=a.weight_decay, warmup=a.warmup, min_lr_ratio=a.min_lr_ratio, max_grad_norm=a.max_grad_norm,
                     gamma=a.gamma, weighting=a.weighting, seed=a.seed, checkpoint_every=a.checkpoint_every, log_every=a.log_every,
                     eval_every=a.eval_every, blockwise_steps=a.blockwise_steps, blockwise_lr=a.blockwise_lr)
    ckpt = a.resume if a.resume and a.resume != "auto" else os.path.join(work, "checkpoint.pt")
    run_key = _hash({"train": {k: v for k, v in vars(tc).items() if k not in ("log_every", "checkpoint_every", "eval_every")},
                     "data": data_spec, "init": init_key, **({"state": sha256_file(a.init_state)} if a.init_state else {}), "student": [a.embed, a.head, a.no_act_quant, a.no_head_act_quant, a.ste]})
    if a.resume and os.path.exists(ckpt):
        prev = torch.load(ckpt).get("extra", {}).get("run_key")
        if prev is not None and prev != run_key:
            raise SystemExit(f"{ckpt} belongs to a run with other settings; resume with the same options or pick another --workdir")
    elif a.resume and a.resume != "auto":
        raise SystemExit(f"--resume: {ckpt} does not exist")
    elif os.path.exists(ckpt):
        os.remove(ckpt)  # a fresh run
    _log(f"distilling: {a.steps} steps x {a.batch_size * a.grad_accum} sequences x {a.seq_len} tokens, gamma {a.gamma} ({a.weighting}), "
         f"{data.shape[0]} training sequences, {torch.get_num_threads()} threads")
    summary = train(student, teacher, data, tc, ckpt, resume=bool(a.resume), log=_log, val=val, extra_init={"run_key": run_key})

    init_aware = False
    if a.init_from:
        init_aware = bool(json.loads(SafetensorsFile(a.init_from).metadata.get("dbllm.quantization", "{}")).get("activation_aware", False))
    quantization = {
        "method": "fdb+dad" if tc.steps > 0 else a.init, "group_size": a.group_size, "embed": a.embed,
        "head": a.embed if cfg.tiedEmbeddings else a.head, "activation_aware": init_aware, "activations": "int8 per group at run time",
        "init": f"from {os.path.basename(a.init_from)}" if a.init_from else a.init,
        "continued_from": os.path.basename(a.init_state) if a.init_state else None, "gamma": a.gamma, "weighting": a.weighting, "distilled": tc.steps > 0,
        "trained_with_activation_quantization": not a.no_act_quant,
    }
    budget = {"steps": summary["steps"], "tokens": summary["tokens"], "train_seconds": round(summary["train_seconds"], 1),
              "wall_seconds": round(time.time() - t0, 1), "threads": torch.get_num_threads(),
              "calibration_sequences": int(a.samples), "sequence_length": a.seq_len, "text_windows": int(texts.shape[0])}
    provenance = {
        "source": os.path.basename(os.path.normpath(a.teacher)), "source_format": T.format, "source_sha256": next(iter(sha.values())) if len(sha) == 1 else sha,
        "tool": f"dbllm_train {__version__} distill", "command": "python -m dbllm_train distill " + " ".join(argv or sys.argv[1:]),
        "budget": budget,
        "recipe": {"loss": "DAD" if a.gamma else "KD", "gamma": a.gamma, "weighting": a.weighting, "samples": a.samples, "seq_len": a.seq_len,
                   "temperature": a.temperature, "top_k": a.top_k, "first_token": a.first_token, "text": [os.path.basename(f) for f in a.text],
                   "steps": a.steps, "batch": a.batch_size, "grad_accum": a.grad_accum, "lr": a.lr, "lr_alpha": a.lr_alpha, "warmup": a.warmup,
                   "min_lr_ratio": a.min_lr_ratio, "weight_decay": a.weight_decay, "max_grad_norm": a.max_grad_norm, "ste": a.ste,
                   "blockwise_steps": a.blockwise_steps, "seed": a.seed, "optimizer": "AdamW(0.9, 0.95)", "schedule": "warmup + cosine"},
    }
    info = export_dbllm(a.output, student, T.tensors, T.tokenizer, quantization, provenance)
    _log(f"wrote {a.output} ({info['bytes'] / 2 ** 20:.1f} MiB, {info['linear_bits_per_weight']:.2f} bits per block weight)")
    out = {"output": a.output, "budget": budget, "quantization": quantization, "history": summary["history"], "blockwise": summary.get("blockwise")}
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(out, f, indent=1)
    return out


def eval_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", help=".dbllm / .gguf file or Hugging Face directory")
    p.add_argument("--text", required=True, help="text file (.txt, tokenized by the dbllm runtime, or .json ids)")
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--max-tokens", type=int, default=0)
    p.add_argument("--float", action="store_true", help="do not simulate the runtime's activation quantization of a .dbllm file")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", action="store_true")
    return p


def load_runtime_model(path: str, simulate: bool = True):
    """A model as the runtime runs it: a .dbllm file's stored weights (dequantized exactly) with the runtime's
    activation quantization (int8 per group into fdb2 matrices, 7 bits per 32 into Q8_0 heads) when `simulate`;
    other formats as float teachers."""
    from .fdb_linear import FrozenLinear
    from .loaders import load_teacher
    from .model import LINEAR_NAMES, build_teacher

    T = load_teacher(path)
    m = build_teacher(T.config, T.tensors)
    if simulate and T.format == "dbllm":
        types = T.metadata["tensor_types"]
        for i, blk in enumerate(m.blocks):
            for k in LINEAR_NAMES:
                t = types.get(f"blk.{i}.{k}.weight", {}).get("type", "")
                layer: FrozenLinear = getattr(blk, k)
                if t.startswith("FDB2_G"):
                    layer.act_quant_group, layer.act_qmax = int(t[6:]), 127
                elif t == "Q8_0":
                    layer.act_quant_group, layer.act_qmax = 32, 63
        head_name = "token_embd.weight" if T.config.tiedEmbeddings else "output.weight"
        if types.get(head_name, {}).get("type") == "Q8_0":
            m.head.act_quant_group, m.head.act_qmax = 32, 63
    return m, T


def run_eval(a: argparse.Namespace) -> dict:
    from .data import tokenize_file
    from .evaluate import perplexity
    if a.threads:
        torch.set_num_threads(a.threads)
    m, _ = load_runtime_model(a.model, not a.float)
    ids = tokenize_file(a.model, a.text)
    if a.max_tokens:
        ids = ids[: a.max_tokens]
    t0 = time.time()
    r = perplexity(m, ids, a.ctx)
    r.update({"file": a.text, "model": a.model, "seconds": round(time.time() - t0, 1)})
    if a.json:
        print(json.dumps(r))
    else:
        print(f"perplexity {r['perplexity']:.4f} over {r['scoredTokens']} tokens ({r['windows']} windows of {r['ctx']})")
    return r


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m dbllm_train", description="DAD distillation of FDB (2-bit dual-binarized) students for dbllm")
    p.add_argument("--version", action="version", version=f"dbllm_train {__version__} (torch {torch.__version__})")
    sub = p.add_subparsers(dest="cmd", required=True)
    distill_parser(sub.add_parser("distill", help="distill a teacher into an FDB .dbllm student", description=DISTILL_EXAMPLE))
    eval_parser(sub.add_parser("eval", help="perplexity of a model on a text (same windowing as dbllm ppl)"))
    from .parity import parity_parser
    parity_parser(sub.add_parser("parity-fixture", help="(tests) tiny distilled model + PyTorch logits for the runtime parity test"))
    a = p.parse_args(argv)
    if a.cmd == "distill":
        run_distill(a, argv[1:])
    elif a.cmd == "eval":
        run_eval(a)
    elif a.cmd == "parity-fixture":
        from .parity import run_parity
        run_parity(a)
    return 0
