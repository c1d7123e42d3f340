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
from .dad import WEIGHTINGS

DEFAULT_CHAT_PROMPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prompts", "chat.txt")

DISTILL_EXAMPLE = "python -m dbllm_train distill --teacher model.gguf -o model-fdb.dbllm --group-size 64 --steps 500"


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
                   "activation-aware fit of `dbllm quantize --calib text.txt`, or from an .npz of scales (overrides --init)")
    q.add_argument("--init-state", metavar="CHECKPOINT.pt", help="continue training a student: its latent weights and scales from a "
                   "checkpoint of an earlier run of the same teacher and group size (fresh optimizer and schedule)")
    q.add_argument("--embed", default="q8", choices=["q8", "f16"], help="stored token embeddings (default q8)")
    q.add_argument("--head", default="q8", choices=["q8", "f16"], help="stored untied output head (default q8)")
    q.add_argument("--ste", default="identity", choices=["identity", "clipped"], help="straight-through estimator for the latent weights")
    q.add_argument("--no-act-quant", action="store_true", help="train without simulating the runtime's int8 activations")
    q.add_argument("--no-head-act-quant", action="store_true", help="train without simulating the q8 head's 7-bit activations")
    l = p.add_argument_group("loss")
    l.add_argument("--gamma", type=float, default=0.0, help="DAD exponent γ (default 0 = plain KD, which the ablation in "
                   "docs/BENCHMARKS.md could not beat; the paper's DAD: 0.5–1)")
    l.add_argument("--weighting", default="both", choices=list(WEIGHTINGS),
                   help="token weight: both entropies (default), teacher entropy, |entropy gap|, or the student's excess loss (dad.py)")
    l.add_argument("--loss-chunk", type=int, default=0, help="positions per chunk of the loss (0: auto, ~512 MiB of logits on a GPU)")
    d = p.add_argument_group("data")
    d.add_argument("--samples", type=int, default=256, help="calibration sequences sampled from the teacher (default 256)")
    d.add_argument("--seq-len", type=int, default=256, help="tokens per training sequence (default 256)")
    d.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1)")
    d.add_argument("--top-k", type=int, default=0, help="sampling top-k (0 = off)")
    d.add_argument("--first-token", default="random", choices=["random", "bos"], help="first token of a sample (default random)")
    d.add_argument("--sample-batch", type=int, default=16, help="sequences sampled at once")
    d.add_argument("--text", action="append", default=[], help="real text to add (.txt, tokenized by the dbllm runtime, or .json ids); repeatable")
    d.add_argument("--chat-samples", type=int, default=0, help="sequences that start from a user turn in the teacher's chat template "
                   "and continue with the teacher's own reply (default 0)")
    d.add_argument("--chat-prompts", default=DEFAULT_CHAT_PROMPTS, help="user turns for --chat-samples: .txt (one per line, rendered "
                   "and tokenized by the dbllm runtime) or .json ([[ids], ...] or {\"prefixes\": ...}); default: the shipped list")
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
    t.add_argument("--time-budget", type=float, default=0, help="stop after the step that passes this many seconds of training (0: none)")
    x = p.add_argument_group("devices")
    x.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N (default auto)")
    x.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                   help="bf16 autocast for the blocks' matrix products (auto: bf16 on CUDA, fp32 on CPU)")
    x.add_argument("--compile", action="store_true", help="torch.compile the blocks (PyTorch ≥ 2.0; compiling takes a minute)")
    x.add_argument("--zero", action="store_true", help="with several processes: shard the AdamW state over them (PyTorch's "
                   "ZeroRedundancyOptimizer, ZeRO stage 1): 8/N instead of 8 bytes per latent weight")
    x.add_argument("--teacher-dtype", default="fp32", choices=["fp32", "bf16"],
                   help="store the teacher's block matrices in bf16 (half the memory; its embeddings and head stay fp32)")
    r = p.add_argument_group("checkpoints and logs")
    r.add_argument("--workdir", help="checkpoint and log directory (default: <output>.work)")
    r.add_argument("--cache", help="where the FDB init and the sampled data are cached, shareable between runs (default: the workdir)")
    r.add_argument("--resume", nargs="?", const="auto", help="continue from the workdir's checkpoint (or the given file)")
    r.add_argument("--checkpoint-every", type=int, default=25)
    r.add_argument("--log-every", type=int, default=1)
    r.add_argument("--eval-every", type=int, default=0)
    r.add_argument("--summary", help="write a JSON summary (budget, losses, timing) here")
    r.add_argument("--eval-text", action="append", default=[], help="held-out text to score the student on after training (perplexity "
                   "as `dbllm ppl` computes it, the runtime's activation quantization simulated; .txt, .json or .npy ids); repeatable")
    r.add_argument("--eval-tokens", type=int, default=0, help="score only the first N tokens of each --eval-text (0: all)")
    r.add_argument("--eval-ctx", type=int, default=512)
    r.add_argument("--no-export", action="store_true", help="train (and evaluate) without writing the .dbllm file, e.g. for ablations")
    return p


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _init_table(a: argparse.Namespace, T, cache: str, dist) -> tuple:
    """The student's starting scales (cached per teacher, group and method) and the cache key."""
    from .loaders import sha256_file
    from .student import fdb_init, init_from_dbllm, save_init_npz
    sha = T.sha256()
    init_key = _hash({"sha": sha, "g": a.group_size, "init": a.init} if not a.init_from else
                     {"sha": sha, "g": a.group_size, "init_from": sha256_file(a.init_from)})
    init_path = os.path.join(cache, f"init-{a.init}-g{a.group_size}-{init_key}.npz")
    if a.init_from:
        init = init_from_dbllm(a.init_from, T.config, a.group_size)
        _log(f"fdb init: the scales of {a.init_from}")
    elif os.path.exists(init_path):
        z = np.load(init_path)
        init = {k[:-3]: (z[k], z[k[:-3] + ".a2"]) for k in z.files if k.endswith(".a1")}
        _log(f"fdb init from {init_path}")
    else:
        init = fdb_init(T.config, T.tensors, a.group_size, a.init, log=_log)
        if dist.main:
            tmp = init_path[:-4] + ".partial.npz"  # other processes may be looking for the file: appear whole or not at all
            save_init_npz(tmp, init)
            os.replace(tmp, init_path)
    return init, init_key


def _bos_id(T) -> Optional[int]:
    tok = json.loads(T.tokenizer)
    if tok.get("kind") == "gguf":
        return tok["metadata"].get("tokenizer.ggml.bos_token_id", {}).get("v")
    return None


def _training_data(a: argparse.Namespace, T, teacher, cache: str, rt) -> tuple:
    """(training sequences, held-out sampled sequences or None, data spec, number of text windows). Sampled sequences
    (BOS/random-started and chat-started) are cached per sampling settings and device type, so runs that differ only
    in their added text share them; text is tokenized on every run (seconds)."""
    from .data import chat_prefixes, sample_from_teacher, text_windows, tokenize_file
    sha = T.sha256()
    chat_spec = None
    prefixes = None
    if a.chat_samples > 0:
        prefixes = chat_prefixes(a.teacher, a.chat_prompts)
        chat_spec = {"n": a.chat_samples, "prompts": _hash(prefixes)}
    data_spec = {"sha": sha, "samples": a.samples + a.val_samples, "len": a.seq_len, "temp": a.temperature, "top_k": a.top_k,
                 "first": a.first_token, "seed": a.seed, "batch": a.sample_batch, "text": a.text, "chat": chat_spec,
                 "sampler": 2, "device": rt.device.type, "precision": rt.precision}
    data_path = os.path.join(cache, f"data-{_hash(dict(data_spec, text=[]))}.pt")
    if os.path.exists(data_path):
        saved = torch.load(data_path)
        sampled, chat = saved["sampled"], saved["chat"]
        _log(f"sampled training data from {data_path}")
    else:
        n = a.samples + a.val_samples
        ts = time.time()
        bos = _bos_id(T)
        log = _log if rt.dist.main else (lambda s: None)
        sampled = sample_from_teacher(teacher, n, a.seq_len, a.temperature, a.seed, a.sample_batch, a.first_token, bos, a.top_k,
                                      log=log, precision=rt.precision, dist=rt.dist) \
            if n > 0 else torch.zeros(0, a.seq_len, dtype=torch.long)
        chat = sample_from_teacher(teacher, a.chat_samples, a.seq_len, a.temperature, a.seed + 7919, a.sample_batch, a.first_token, bos,
                                   a.top_k, log=log, prefixes=prefixes, precision=rt.precision, dist=rt.dist) \
            if a.chat_samples > 0 else torch.zeros(0, a.seq_len, dtype=torch.long)
        if rt.dist.main:
            torch.save({"sampled": sampled, "chat": chat, "spec": dict(data_spec, text=[]), "sample_seconds": time.time() - ts}, data_path + ".partial")
            os.replace(data_path + ".partial", data_path)
    texts = torch.zeros(0, a.seq_len, dtype=torch.long)
    for f in a.text:
        ids = tokenize_file(a.teacher, f)
        texts = torch.cat([texts, text_windows(ids, a.seq_len)])
        _log(f"text {f}: {len(ids)} tokens -> {texts.shape[0]} windows so far")
    val = sampled[a.samples:] if a.val_samples else None
    data = torch.cat([sampled[:a.samples], chat, texts])
    if data.shape[0] == 0:
        raise SystemExit("no training data: use --samples N, --chat-samples N and/or --text FILE")
    return data, val, data_spec, int(texts.shape[0])


def _runtime(a: argparse.Namespace):
    from . import distributed as D
    from .device import describe, resolve_device, resolve_precision, setup_matmul
    from .train import Runtime
    d = D.from_environment()
    device = resolve_device(a.device, d.local_rank if d.active else None)
    D.init(d, device)
    setup_matmul(device)
    rt = Runtime(device=device, precision=resolve_precision(a.precision, device), loss_chunk=a.loss_chunk, compile=a.compile, dist=d,
                 zero=a.zero)
    _log(f"device: {describe(device)}; precision {rt.precision}" + (f"; rank {d.rank}/{d.world} ({d.backend})" if d.active else ""))
    return rt


def run_distill(a: argparse.Namespace, argv: Optional[List[str]] = None) -> dict:
    from . import distributed as D
    from .export import export_dbllm
    from .loaders import load_teacher, sha256_file
    from .model import build_teacher
    from .safetensors_io import SafetensorsFile
    from .student import build_student
    from .train import TrainConfig, compile_blocks, load_trainable_state, train

    t0 = time.time()
    if a.threads:
        torch.set_num_threads(a.threads)
    rt = _runtime(a)
    d = rt.dist
    work = a.workdir or (a.output + ".work")
    os.makedirs(work, exist_ok=True)
    cache = a.cache or work
    os.makedirs(cache, exist_ok=True)
    _log(f"loading teacher {a.teacher}")
    T = load_teacher(a.teacher)
    sha = T.sha256()
    cfg = T.config
    _log(f"teacher: {cfg.architecture}, {cfg.nLayers} layers, dim {cfg.dim}, vocab {cfg.vocabSize} ({T.format})")
    teacher = build_teacher(cfg, T.tensors, torch.bfloat16 if a.teacher_dtype == "bf16" else torch.float32).to(rt.device)
    init, init_key = _init_table(a, T, cache, d)
    data, val, data_spec, n_text = _training_data(a, T, teacher, cache, rt)

    student = build_student(cfg, T.tensors, init, a.group_size, a.embed, a.head, not a.no_act_quant, not a.no_head_act_quant, a.ste)
    if a.init_state:
        load_trainable_state(student, torch.load(a.init_state, map_location="cpu")["trainable"])
        _log(f"student state (latent weights and scales) from {a.init_state}")
    student.to(rt.device)
    compile_blocks(student, a.compile, _log)
    compile_blocks(teacher, a.compile, _log)
    tc = TrainConfig(steps=a.steps, batch_size=a.batch_size, grad_accum=a.grad_accum, lr=a.lr, lr_alpha=a.lr_alpha,
                     weight_decay=a.weight_decay, warmup=a.warmup, min_lr_ratio=a.min_lr_ratio, max_grad_norm=a.max_grad_norm,
                     gamma=a.gamma, weighting=a.weighting, seed=a.seed, checkpoint_every=a.checkpoint_every, log_every=a.log_every,
                     eval_every=a.eval_every, blockwise_steps=a.blockwise_steps, blockwise_lr=a.blockwise_lr)
    ckpt = a.resume if a.resume and a.resume != "auto" else os.path.join(work, "checkpoint.pt")
    run_key = _hash({"train": {k: v for k, v in vars(tc).items() if k not in ("log_every", "checkpoint_every", "eval_every")},
                     "data": data_spec, "init": init_key, "world": d.world, "zero": bool(a.zero and d.active),
                     **({"state": sha256_file(a.init_state)} if a.init_state else {}), "student": [a.embed, a.head, a.no_act_quant, a.no_head_act_quant, a.ste]})
    if a.resume and os.path.exists(ckpt):
        prev = torch.load(ckpt, map_location="cpu").get("extra", {}).get("run_key")
        if prev is not None and prev != run_key:
            raise SystemExit(f"{ckpt} belongs to a run with other settings; resume with the same options and process count or pick another --workdir")
    elif a.resume and a.resume != "auto":
        raise SystemExit(f"--resume: {ckpt} does not exist")
    elif os.path.exists(ckpt) and d.main:
        os.remove(ckpt)  # a fresh run
    D.barrier(d)
    _log(f"distilling: {a.steps} steps x {a.batch_size * a.grad_accum * d.world} sequences x {a.seq_len} tokens, gamma {a.gamma} ({a.weighting}), "
         f"{data.shape[0]} training sequences, {torch.get_num_threads()} threads")
    summary = train(student, teacher, data, tc, ckpt, resume=bool(a.resume), log=_log, val=val, extra_init={"run_key": run_key}, rt=rt,
                    time_budget=a.time_budget)
    out = {"output": a.output, "history": summary["history"], "blockwise": summary.get("blockwise")}
    if d.main:
        init_aware = False
        if a.init_from and not a.init_from.endswith(".npz"):
            init_aware = bool(json.loads(SafetensorsFile(a.init_from).metadata.get("dbllm.quantization", "{}")).get("activation_aware", False))
        quantization, provenance = _export_metadata(a, argv, T, sha, cfg, tc, summary, init_aware, n_text, t0, rt)
        if a.no_export:
            for _, layer in student.fdb_layers():
                layer.round_scales_f16()  # what export would store
        else:
            info = export_dbllm(a.output, student, T.tensors, T.tokenizer, quantization, provenance)
            _log(f"wrote {a.output} ({info['bytes'] / 2 ** 20:.1f} MiB, {info['linear_bits_per_weight']:.2f} bits per block weight)")
        out.update({"budget": provenance["budget"], "quantization": quantization})
        if a.eval_text:
            out["eval"] = _evaluate_student(a, student)
        if a.summary:
            with open(a.summary, "w") as f:
                json.dump(out, f, indent=1)
    D.barrier(d)
    D.shutdown(d)
    return out


def _evaluate_student(a: argparse.Namespace, student) -> list:
    """Held-out perplexity of the student as stored (f16 scales, Q8_0 embeddings/head, int8 activations)."""
    from .data import tokenize_file
    from .evaluate import perplexity
    out = []
    student.eval()
    for b in student.blocks:  # evaluate eagerly (compiling again for other shapes would cost more than it saves)
        b.__dict__.pop("forward", None)
    for f in a.eval_text:
        ids = tokenize_file(a.teacher, f)
        if a.eval_tokens:
            ids = ids[: a.eval_tokens]
        t0 = time.time()
        r = perplexity(student, ids, a.eval_ctx)
        r.update({"file": os.path.basename(f), "seconds": round(time.time() - t0, 1)})
        _log(f"held-out {os.path.basename(f)}: perplexity {r['perplexity']:.3f} over {r['scoredTokens']} tokens")
        out.append(r)
    return out


def _export_metadata(a, argv, T, sha, cfg, tc, summary, init_aware, n_text, t0, rt) -> tuple:
    """dbllm.quantization and dbllm.provenance of the exported student."""
    from .device import describe
    quantization = {
        "method": ("fdb+dad" if a.gamma else "fdb+kd") if tc.steps > 0 else a.init, "group_size": a.group_size, "embed": a.embed,
        "head": a.embed if cfg.tiedEmbeddings else a.head, "activation_aware": init_aware, "activations": "int8 per group at run time",
        "init": f"from {os.path.basename(a.init_from)}" if a.init_from else a.init,
        "continued_from": os.path.basename(a.init_state) if a.init_state else None, "gamma": a.gamma, "weighting": a.weighting, "distilled": tc.steps > 0,
        "trained_with_activation_quantization": not a.no_act_quant,
    }
    budget = {"steps": summary["steps"], "tokens": summary["tokens"], "train_seconds": round(summary["train_seconds"], 1),
              "wall_seconds": round(time.time() - t0, 1), "threads": torch.get_num_threads(), "device": describe(rt.device),
              "processes": rt.dist.world, "precision": rt.precision, "calibration_sequences": int(a.samples),
              "chat_sequences": int(a.chat_samples), "sequence_length": a.seq_len, "text_windows": n_text}
    provenance = {
        "source": os.path.basename(os.path.normpath(a.teacher)), "source_format": T.format, "source_sha256": next(iter(sha.values())) if len(sha) == 1 else sha,
        "tool": f"dbllm_train {__version__} distill", "command": "python -m dbllm_train distill " + " ".join(argv or sys.argv[1:]),
        "budget": budget,
        "recipe": {"loss": "DAD" if a.gamma else "KD", "gamma": a.gamma, "weighting": a.weighting, "samples": a.samples, "seq_len": a.seq_len,
                   "temperature": a.temperature, "top_k": a.top_k, "first_token": a.first_token, "text": [os.path.basename(f) for f in a.text],
                   "chat_samples": a.chat_samples, "chat_prompts": os.path.basename(a.chat_prompts) if a.chat_samples else None,
                   "steps": a.steps, "batch": a.batch_size, "grad_accum": a.grad_accum, "processes": rt.dist.world, "lr": a.lr, "lr_alpha": a.lr_alpha,
                   "warmup": a.warmup, "min_lr_ratio": a.min_lr_ratio, "weight_decay": a.weight_decay, "max_grad_norm": a.max_grad_norm, "ste": a.ste,
                   "blockwise_steps": a.blockwise_steps, "seed": a.seed, "optimizer": "AdamW(0.9, 0.95)", "schedule": "warmup + cosine"},
    }
    return quantization, provenance


def eval_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("model", help=".dbllm / .gguf file or Hugging Face directory")
    p.add_argument("--text", required=True, help="text file (.txt, tokenized by the dbllm runtime, or .json ids)")
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--max-tokens", type=int, default=0)
    p.add_argument("--float", action="store_true", help="do not simulate the runtime's activation quantization of a .dbllm file")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
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
    from .device import resolve_device
    m, _ = load_runtime_model(a.model, not a.float)
    m.to(resolve_device(a.device))
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
