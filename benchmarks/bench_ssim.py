"""Batched torch SSIM (mrirobust.metrics.ssim) vs skimage's structural_similarity per image, one
thread each (skimage has no threads), on float32 images as the pipeline passes them:

- noise: uniform random images plus Gaussian noise, 64 x 320 x 320 (fastMRI's crop) and
  64 x 128 x 128 (the cpu scale's crop);
- flat: smooth bright images with almost no noise, where local variances are far below C2, the
  case where float32 rounding would show first;
- boxes: 19 crops of 24 x 24 (a rotation search's region SSIM over one box).

Values are checked against skimage on float64 copies (≤ 1e-4) before timing. Writes
benchmarks/results/bench_ssim.json.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from _bench import compare, write
from skimage.metrics import structural_similarity

from mrirobust import metrics

torch.set_num_threads(1)
REPEATS = 5


def noise(batch: int, size: int, g: torch.Generator):
    target = torch.rand(batch, size, size, generator=g)
    return target, target + 0.1 * torch.randn(batch, size, size, generator=g)


def flat(batch: int, size: int, g: torch.Generator):
    coarse = torch.rand(batch, 1, size // 16, size // 16, generator=g)
    target = F.interpolate(coarse, size=(size, size), mode="bicubic")[:, 0].clamp_min(0)
    target = 1e-4 * (1 + target)
    target[:, 0, 0] = 0  # data range = max, the bright area sits far from zero
    return target, target + 1e-7 * torch.randn(batch, size, size, generator=g)


CASES = {
    "noise_64x320x320": (noise, 64, 320),
    "noise_64x128x128": (noise, 64, 128),
    "flat_64x320x320": (flat, 64, 320),
    "boxes_19x24x24": (noise, 19, 24),
}


def skimage_ssim(target: np.ndarray, pred: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    return np.array(
        [
            structural_similarity(t, p, data_range=r)
            for t, p, r in zip(target, pred, ranges, strict=True)
        ]
    )


def run_case(make, batch: int, size: int) -> dict:
    target, pred = make(batch, size, torch.Generator().manual_seed(0))
    ranges = metrics.data_range(target, "max-min")
    t_np, p_np, r_np = target.numpy(), pred.numpy(), ranges.numpy()
    exact = skimage_ssim(t_np.astype(np.float64), p_np.astype(np.float64), r_np)
    difference = float(np.abs(metrics.ssim(target, pred, data_range=ranges).numpy() - exact).max())
    if difference > 1e-4:
        raise RuntimeError(f"torch SSIM differs from skimage by {difference:.2e}")
    timing = compare(
        lambda: metrics.ssim(target, pred, data_range=ranges),
        lambda: skimage_ssim(t_np, p_np, r_np),
        REPEATS,
    )
    return {
        "images": [batch, size, size],
        "max_abs_difference_vs_skimage_float64": difference,
        "skimage_float32_difference": float(np.abs(skimage_ssim(t_np, p_np, r_np) - exact).max()),
        **timing,
    }


def main() -> None:
    cases = {name: run_case(*case) for name, case in CASES.items()}
    write(
        "bench_ssim",
        {
            "compared": "mrirobust.metrics.ssim (torch, float32, batched) vs skimage per image",
            "repeats": REPEATS,
            "timing": "subject and baseline alternate; medians; ratio = median of per-repeat "
            "ratios (baseline / subject: > 1 means torch is faster)",
            "cases": cases,
            "speedup_over_skimage": min(c["ratio_baseline_over_subject"] for c in cases.values()),
        },
    )


if __name__ == "__main__":
    main()
