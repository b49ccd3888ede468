"""Reconstruction quality on validation slices: per-slice SSIM, PSNR and NMSE against the RSS
targets (`mrirobust.metrics`, SSIM and PSNR with the default data range: fastMRI's max of each
target), computed on the model's device (`mrirobust.devices`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from mrirobust import devices, metrics, scales
from mrirobust.physics import center_fraction
from mrirobust.training.datasets import SliceData, shape_batches, slices


def validation_data(
    scale: str, acceleration: int, count: int | None = None, anatomy: str = "knee"
) -> SliceData:
    """The first `count` (default: the `train` profile's `val_slices`) validation slices of
    `anatomy` at `scale`, masked at `acceleration` with the masks the trained models were
    validated with (seeded by the profile's `seed` and the slice index)."""
    fraction = center_fraction(acceleration)
    train = scales.resolve(scale, "train")
    count = train["val_slices"] if count is None else count
    items = slices(scale, "val", anatomy)[:count]
    return SliceData(items, acceleration, fraction, train["seed"], training=False)


METRICS = ("ssim", "psnr", "nmse")


def scores(
    model, masked_kspace: torch.Tensor, mask: torch.Tensor, target: torch.Tensor
) -> dict[str, torch.Tensor]:
    """SSIM, PSNR and NMSE `(B,)` of `model`'s reconstruction of one batch against `target`,
    on the model's device (inputs are moved there; no gradient)."""
    return _reconstruct_and_score(model, masked_kspace, mask, target)[1]


def _reconstruct_and_score(model, masked_kspace, mask, target):
    masked_kspace, mask, target = devices.to_model(model, masked_kspace, mask, target)
    with torch.no_grad():
        pred = model(masked_kspace, mask)
    return pred, {key: getattr(metrics, key)(target, pred) for key in METRICS}


def evaluate(
    model: torch.nn.Module,
    dataset: SliceData,
    batch_size: int = 1,
    images: dict[int, torch.Tensor | None] | None = None,
) -> dict:
    """Per-slice SSIM, PSNR and NMSE of `model` on `dataset`, as lists (`scores` per batch;
    batches hold slices of one k-space shape, `datasets.shape_batches`). `images` maps slice
    indices to None: they are filled with those slices' reconstructions (on the CPU), so that
    an example figure needs no second reconstruction."""
    values = {key: [] for key in METRICS}
    model.eval()
    batches = shape_batches(dataset, batch_size)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches)
    progress = tqdm(loader, desc=f"evaluate {model.name}", leave=False)
    for indices, (kspace, mask, target, _) in zip(batches, progress, strict=True):
        pred, batch_scores = _reconstruct_and_score(model, kspace, mask, target)
        for key, value in batch_scores.items():
            values[key] += value.cpu().tolist()
        for i, index in enumerate(indices):
            if images is not None and index in images:
                images[index] = pred[i].cpu()
    return values


def quality_table(scores: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """One row per method (index `method`) of `evaluate` scores: `<metric>_mean` and
    `<metric>_std` (population std) of every metric."""
    table = pd.DataFrame(
        {
            name: {
                f"{metric}_{stat}": f(values)
                for metric, values in method_scores.items()
                for stat, f in (("mean", np.mean), ("std", np.std))
            }
            for name, method_scores in scores.items()
        }
    ).T
    table.index.name = "method"
    return table
