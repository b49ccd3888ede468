"""The template's experiment: every model on noisy measurements, one row per (model, σ, slice)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from mrirobust import evaluation, physics
from mrirobust.attacks.pgd import seeded_noise
from mrirobust.training.datasets import SliceData


def noisy(masked_kspace: torch.Tensor, mask: torch.Tensor, sigma: float, seed: int):
    """y + n on the sampled locations, n complex white Gaussian (`seeded_noise`) scaled per
    slice to ‖n‖₂ = σ‖y‖₂."""
    shape = masked_kspace.shape
    noise = physics.apply_mask(seeded_noise(shape, seed, masked_kspace), mask)
    scale = sigma * masked_kspace.flatten(1).norm(dim=1) / noise.flatten(1).norm(dim=1)
    return masked_kspace + noise * scale.view(-1, *[1] * (len(shape) - 1))


def noise_sweep(
    models: Mapping[str, torch.nn.Module], data: SliceData, settings: Mapping
) -> pd.DataFrame:
    """SSIM, PSNR and NMSE (`evaluation.scores`) of every model in `models` on every slice of
    `data` with `noisy` measurements, for each σ of settings["sigmas"] (noise seeded by
    settings["seed"] and the slice index)."""
    rows = []
    for index in range(len(data)):
        masked_kspace, mask, target, _ = (x.unsqueeze(0) for x in data[index])
        for sigma in settings["sigmas"]:
            seed = int(np.random.SeedSequence([settings["seed"], index]).generate_state(1)[0])
            y = noisy(masked_kspace, mask, sigma, seed)
            for name, model in models.items():
                scores = evaluation.scores(model, y, mask, target)
                rows.append(
                    {
                        "model": name,
                        "sigma": float(sigma),
                        "slice": index,
                        **{key: float(value[0]) for key, value in scores.items()},
                    }
                )
    return pd.DataFrame(rows)
