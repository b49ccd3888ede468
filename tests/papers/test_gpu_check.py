"""`make gpu-check` (`papers.gpu_check`): its parts work on the stand-in device, and without
CUDA it says how to get it instead of failing midway."""

import argparse

import pytest
import torch

from mrirobust import physics, standin
from mrirobust.models.unet import UNetRecon
from mrirobust.papers import gpu_check


def _args(**kwargs):
    parser = argparse.ArgumentParser()
    gpu_check.configure_parser(parser)
    args = parser.parse_args([])
    vars(args).update(kwargs)
    return args


def test_every_paper_network_is_checked():
    papers = {name.split("/")[0] for name in gpu_check.MODELS}
    assert papers == {"morshuis2022", "darestani2021", "huang_liang", "zhao2023"}


def test_a_step_is_measured_on_the_device(monkeypatch):
    def tiny():
        kspace = torch.randn(2, 3, 32, 24, dtype=torch.complex64)
        mask = physics.column_mask(24, 4, 0.25, seed=0).view(1, 1, 1, -1)
        return UNetRecon((16, 16), 4, 2), (kspace, mask)

    monkeypatch.setitem(gpu_check.MODELS, "toy/unet", tiny)
    with standin.active() as device:
        row = gpu_check.measure("toy/unet", device)
    assert row["model"] == "toy/unet" and row["parameters"] > 0
    assert row["train_s"] > 0 and row["attack_s"] > 0 and row["peak_rss_mb"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a CPU-only build")
def test_without_cuda_it_says_what_to_do(capsys, tmp_path):
    assert gpu_check.main(_args(out=tmp_path / "check.json")) == 2
    assert "needs a CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "check.json").exists()
