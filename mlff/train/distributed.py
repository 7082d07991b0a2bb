"""Data-parallel training with ``torch.distributed`` (gloo on CPU, nccl on GPU), launched by torchrun.

Every rank holds a full copy of the model and sees its share of each global batch (a
``DistributedSampler`` order); gradients are summed over ranks with one all-reduce per step of a
flat buffer, so the update equals that of one process on the whole global batch (the loss is
normalized by the global label counts, see :mod:`mlff.train.losses`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Context:
    """This process's place in the run: ``rank`` of ``world_size`` processes, on ``device``."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """``auto``: the process's GPU (``LOCAL_RANK``) when CUDA is available, else the CPU; otherwise ``name``."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0")) if local_rank is None else local_rank
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} asked for but CUDA is not available: use device=cpu or device=auto")
        if device.index is None:
            device = torch.device(f"cuda:{local_rank}")
    return device


def init_from_env(device: str = "auto") -> Context:
    """The process group torchrun describes (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``), initialized
    once: nccl for GPUs, gloo for the CPU. A single process without torchrun gets rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device, local_rank)
    if world == 1:
        return Context(device=resolved)
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    return Context(dist.get_rank(), dist.get_world_size(), resolved)


def current(device: torch.device) -> Context:
    """The context of an already initialized process group (rank 0 of 1 when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size(), device)
    return Context(device=device)


def all_reduce_sum(tensor: torch.Tensor, context: Context) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (through the process group's device) and return it."""
    if not context.distributed:
        return tensor
    staged = tensor.to(context.device)
    dist.all_reduce(staged, op=dist.ReduceOp.SUM)
    tensor.copy_(staged)
    return tensor


def all_reduce_gradients(model: nn.Module, context: Context) -> None:
    """Sum every parameter's gradient over ranks (missing gradients count as zero) in one flat all-reduce."""
    if not context.distributed:
        return
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p))
        offset += n


def broadcast_parameters(model: nn.Module, context: Context) -> None:
    """Make every rank start from rank 0's weights and buffers."""
    if not context.distributed:
        return
    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)


def barrier(context: Context) -> None:
    if context.distributed:
        dist.barrier()
