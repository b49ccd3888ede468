"""Zhao training under torchrun: the paper's global batch of one slice does not split over
processes, so training refuses with a message instead of silently training on N slices a step."""

import pytest

from mrirobust.papers.zhao2023 import profile, training

CFG = profile.TRAIN.resolve("smoke", {"mapper_epochs": 1, "max_slices": 2})


def test_more_than_one_process_is_refused_with_the_one_gpu_command(
    smoke_root, tmp_path, monkeypatch
):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="one slice per step.*WORLD_SIZE=2.*mrirobust train"):
        training.train_all(smoke_root, "smoke", CFG, "T1map", ["vn"], progress=False)
    assert not list(tmp_path.rglob("*.pt"))  # nothing half-written
