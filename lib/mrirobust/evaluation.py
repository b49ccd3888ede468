"""Reconstruction quality on validation slices: per-slice SSIM, PSNR and NMSE against the RSS
targets (`mrirobust.metrics`)."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from mrirobust import metrics, scales
from mrirobust.models.registry import ANATOMY, CENTER_FRACTIONS
from mrirobust.training.datasets import SliceData, slices


def validation_data(scale: str, acceleration: int, count: int | None = None) -> SliceData:
    """The first `count` (default: the `train` profile's `val_slices`) validation slices of the
    scale's knee data, masked at `acceleration` with the masks the trained models were
    validated with (seeded by the profile's `seed` and the slice index)."""
    if acceleration not in CENTER_FRACTIONS:
        raise ValueError(
            f"acceleration {acceleration!r} not supported; valid: {sorted(CENTER_FRACTIONS)}"
        )
    train = scales.resolve(scale, "train")
    count = train["val_slices"] if count is None else count
    items = slices(scale, "val", ANATOMY)[:count]
    return SliceData(
        items, acceleration, CENTER_FRACTIONS[acceleration], train["seed"], training=False
    )


def evaluate(model: torch.nn.Module, dataset: SliceData, batch_size: int = 1) -> dict:
    """Per-slice SSIM, PSNR and NMSE of `model` on `dataset`, as lists."""
    device = next(iter(model.parameters()), torch.empty(0)).device
    scores = {"ssim": [], "psnr": [], "nmse": []}
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    for kspace, mask, target, _ in tqdm(loader, desc=f"evaluate {model.name}", leave=False):
        with torch.no_grad():
            pred = model(kspace.to(device), mask.to(device)).cpu()
        for key in scores:
            scores[key] += getattr(metrics, key)(target, pred).tolist()
    return scores
