"""Batched torch SSIM (mrirobust.metrics.ssim) vs skimage's structural_similarity, 64 images."""

from __future__ import annotations

import numpy as np
import torch
from _bench import compare, write
from skimage.metrics import structural_similarity

from mrirobust import metrics

torch.set_num_threads(2)
BATCH, SHAPE, REPEATS = 64, (320, 320), 3
g = torch.Generator().manual_seed(0)
target = torch.rand(BATCH, *SHAPE, generator=g)
pred = target + 0.1 * torch.randn(BATCH, *SHAPE, generator=g)
t_np, p_np = target.numpy(), pred.numpy()
ranges = (target.amax(dim=(-2, -1)) - target.amin(dim=(-2, -1))).numpy()


def reference():
    return np.array(
        [
            structural_similarity(t, p, data_range=r)
            for t, p, r in zip(t_np, p_np, ranges, strict=True)
        ]
    )


ours = metrics.ssim(target, pred).numpy()
assert np.abs(ours - reference()).max() < 1e-4
timing = compare(lambda: metrics.ssim(target, pred), reference, REPEATS)
write(
    "bench_ssim",
    {
        "compared": "mrirobust.metrics.ssim (torch, float64, batched) vs skimage per image",
        "images": [BATCH, *SHAPE],
        "repeats": REPEATS,
        "timing": "subject and baseline alternate; medians; ratio = median of per-repeat ratios",
        **timing,
        "speedup_over_skimage": timing["ratio_baseline_over_subject"],
        "max_abs_difference": float(np.abs(ours - reference()).max()),
    },
)
