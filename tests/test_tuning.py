"""Tuning never sees a scored slice: every choice made from data in the session's smoke run
(l1's λ searches, Huang & Liang's early stopping) names the slices it used, and none of them
is a validation slice, the split that every evaluation scores."""

from pathlib import Path

import pytest
import torch

from mrirobust import data

pytestmark = pytest.mark.notebook


def _files(split: str) -> set[str]:
    root = data.fastmri_io.data_root("smoke")
    return {p.name for p in root.glob(f"*/*_{split}/*.h5")}


def test_tuning_uses_training_slices_only(smoke_results):
    validation, training = _files("val"), _files("train")
    assert validation and training and not validation & training
    tuned = {}
    for path in sorted(Path(smoke_results.results_root, "checkpoints").glob("*.pt")):
        state = torch.load(path, map_location="cpu", weights_only=False)
        for key in ("tuned_on", "stopped_on"):
            if key in state:
                tuned[path.name, key] = {name for name, _ in state[key]}
    kinds = {key for _, key in tuned}
    assert kinds == {"tuned_on", "stopped_on"}, kinds  # the smoke run has both kinds of tuning
    for (name, key), files in tuned.items():
        assert files and files <= training, (name, key, sorted(files - training))
