"""Zhao training under DDP: two gloo processes on the CPU, spawned as torchrun would."""

import os
import socket
from unittest import mock

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mrirobust.papers.zhao2023 import profile, training
from mrirobust.training.checkpoints import Checkpoint

# 3 slices over 2 processes: one process repeats a slice (the sampler pads the plan)
CFG = profile.TRAIN.resolve("smoke", {"mapper_epochs": 2, "max_slices": 3})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_on_rank(rank: int, root, out, port: int) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1")
    os.environ["MASTER_PORT"] = str(port)
    saves = []
    save = Checkpoint.save

    def counted(checkpoint, state):
        saves.append((checkpoint.path.name, state["epoch"]))
        save(checkpoint, state)

    with mock.patch.object(Checkpoint, "save", counted):
        models, _ = training.train_all(root, "smoke", CFG, "T1map", ["vn"], progress=False)
    weights = {name: model.state_dict() for name, model in models.items()}
    torch.save({"weights": weights, "saves": saves}, out / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_two_processes_end_with_the_same_weights_and_rank_0_writes(
    smoke_root, tmp_path, monkeypatch
):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    mp.spawn(_train_on_rank, args=(smoke_root, tmp_path, _free_port()), nprocs=2)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert set(first["weights"]) == {"mapper", "vn"}
    for name, weights in first["weights"].items():
        for key, value in weights.items():
            torch.testing.assert_close(second["weights"][name][key], value, rtol=0, atol=0)
    assert second["saves"] == []
    assert [epoch for _, epoch in first["saves"]] == [1, 2, 1]  # mapper 2 epochs, vn 1
    written = sorted(p.name for p in (tmp_path / "checkpoints").rglob("*.pt"))
    assert written == sorted({name for name, _ in first["saves"]})
    curves = {p.stem: training.curve(p) for p in (tmp_path / "checkpoints").rglob("*.pt")}
    assert sorted(len(c) for c in curves.values()) == [1, 2]
