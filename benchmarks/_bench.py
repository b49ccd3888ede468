"""Shared helpers of the benchmark scripts: timing, machine description, synthetic k-space."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mrirobust import physics, storage

RESULTS = Path(__file__).resolve().parent / "results"


def compare(subject, baseline, repeats: int) -> dict:
    """Time `subject` and `baseline` alternately (after one warm-up call each), so that load
    from other processes hits both alike; medians of each side and of the per-repeat ratios."""
    subject(), baseline()
    ours, theirs = [], []
    for _ in range(repeats):
        for fn, times in ((subject, ours), (baseline, theirs)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return {
        "subject_s": statistics.median(ours),
        "baseline_s": statistics.median(theirs),
        "ratio_baseline_over_subject": statistics.median(
            b / a for a, b in zip(ours, theirs, strict=True)
        ),
    }


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": "cpu",
    }


def write(name: str, result: dict) -> None:
    result = {**result, "machine": machine()}
    storage.write_json(RESULTS / f"{name}.json", result)
    print(json.dumps(result, indent=2))


def synthetic_kspace(batch: int, coils: int, shape: tuple[int, int], seed: int = 0):
    """Smooth random images times Gaussian coil profiles -> fully sampled k-space `(B, C, H, W)`."""
    g = torch.Generator().manual_seed(seed)
    h, w = shape
    coarse = torch.rand(batch, 1, h // 8, w // 8, generator=g)
    image = F.interpolate(coarse, size=shape, mode="bicubic", align_corners=False)[:, 0]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    sens = torch.stack([torch.exp(-((xs - c) ** 2 + ys**2)) for c in torch.linspace(-1, 1, coils)])
    return physics.sens_expand(
        image.to(torch.complex64), sens.to(torch.complex64).expand(batch, -1, -1, -1)
    )
