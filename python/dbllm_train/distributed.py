"""Several processes, on one machine or several, through PyTorch's own distributed package: `torchrun` starts the
processes and sets RANK / WORLD_SIZE / LOCAL_RANK; NCCL connects GPUs, gloo connects CPU processes. Data
parallelism is DistributedDataParallel (DDP) on the student; every rank holds the teacher and the whole student.
With one process none of this is used and nothing is initialised."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List

import torch
import torch.distributed as dist


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def from_environment() -> Dist:
    """The process's place in a torchrun job (or a single process when WORLD_SIZE is unset or 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Dist()
    return Dist(rank=int(os.environ["RANK"]), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def init(d: Dist, device: torch.device) -> Dist:
    """Joins the process group: NCCL for CUDA devices, gloo for CPU."""
    if not d.active:
        return d
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    if dist.get_world_size() != d.world or dist.get_rank() != d.rank:
        raise RuntimeError(f"torch.distributed says rank {dist.get_rank()}/{dist.get_world_size()}, the environment {d.rank}/{d.world}")
    d.backend = backend
    return d


def shutdown(d: Dist) -> None:
    if d.active and dist.is_initialized():
        dist.destroy_process_group()


def barrier(d: Dist) -> None:
    if d.active:
        dist.barrier()


def all_reduce_sum(t: torch.Tensor, d: Dist) -> torch.Tensor:
    """Sums `t` over all ranks in place (float64 scalars stay exact to the last bit for two ranks: a + b = b + a)."""
    if d.active:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def gather_rows(mine: torch.Tensor, d: Dist) -> List[torch.Tensor]:
    """Every rank's tensor (all the same shape), in rank order."""
    if not d.active:
        return [mine]
    out = [torch.empty_like(mine) for _ in range(d.world)]
    dist.all_gather(out, mine)
    return out


def broadcast_(t: torch.Tensor, d: Dist, src: int = 0) -> torch.Tensor:
    if d.active:
        dist.broadcast(t, src)
    return t
