"""Data-parallel training (2 gloo processes on the CPU) equals one process on the same global batches."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mlff.model.build import build_model
from mlff.train.distributed import current
from mlff.train.trainer import Trainer
from tests.mlff.test_train import FAST, config, teacher_data

SETTINGS = {"epochs": 2, "batch_size": 4, "lr": 1e-2, "grad_clip": 0.5}  # 8 structures: 2 steps per epoch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(directory, context=None) -> Trainer:
    torch.manual_seed(0)
    run = Trainer(build_model(FAST), teacher_data(8), teacher_data(8)[:3], {"energy": 1.0, "forces": 1.0},
                  config(**SETTINGS), directory, context)
    run.fit()
    return run


def worker(rank: int, world_size: int, port: int, directory: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        run = train(directory, current(torch.device("cpu")))
        if rank == 0:
            torch.save({"model": run.model.state_dict(), "history": run.history}, os.path.join(directory, "ddp.pt"))
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_equal_one_process(tmp_path):
    mp.spawn(worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    parallel = torch.load(tmp_path / "ddp.pt", weights_only=True)
    single = train(tmp_path / "single")
    assert len(single.history) == len(parallel["history"]) == 2
    for name, value in single.model.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(parallel["model"][name], value, rtol=0, atol=1e-8), name
    start = build_model(FAST)  # the weights moved: the comparison is not between untrained models
    assert any(not torch.allclose(start.state_dict()[k].double(), v) for k, v in single.model.state_dict().items()
               if v.is_floating_point())
    for key in ("train/loss", "val/loss", "val/forces_mae"):
        assert abs(parallel["history"][-1][key] - single.history[-1][key]) < 1e-10, key
