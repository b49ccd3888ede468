"""The reconstruction-quality ranking of Darestani et al. 2021 (Fig. 2, in distribution), which
the shared train_models run checks on its validation quality table: VarNet ≥ U-Net > l1-wavelet
> zero-filled, and the un-trained ConvDecoder > zero-filled (mean SSIM)."""

from __future__ import annotations

import pandas as pd

from mrirobust.claims import Claim, Verdict


def _ranks_above(first: str, second: str, strict: bool):
    """check(quality): whether `first`'s mean SSIM is above (or, not `strict`, at least)
    `second`'s in the quality table (index: method, column `ssim_mean`)."""

    def check(quality: pd.DataFrame) -> tuple[bool, dict]:
        missing = {first, second} - set(quality.index)
        if missing or "ssim_mean" not in quality.columns:
            raise ValueError(
                f"ranking {first} vs {second}: the quality table needs rows {sorted(missing)} "
                f"and column 'ssim_mean'; it has rows {list(quality.index)}"
            )
        a, b = quality.loc[first, "ssim_mean"], quality.loc[second, "ssim_mean"]
        holds = a > b if strict else a >= b
        return bool(holds), {f"ssim_{first}": a, f"ssim_{second}": b}

    return check


RANKING = [
    Claim(
        "darestani2021/fig2/varnet_ge_unet",
        "E2E-VarNet reconstructs at least as well as the U-Net (mean validation SSIM).",
        _ranks_above("varnet", "unet", strict=False),
    ),
    Claim(
        "darestani2021/fig2/unet_gt_l1",
        "The U-Net reconstructs better than l1-wavelet CS (mean validation SSIM).",
        _ranks_above("unet", "l1", strict=True),
    ),
    Claim(
        "darestani2021/fig2/l1_gt_zero_filled",
        "l1-wavelet CS reconstructs better than zero-filling (mean validation SSIM).",
        _ranks_above("l1", "zero_filled", strict=True),
    ),
    Claim(
        "darestani2021/fig2/convdecoder_gt_zero_filled",
        "The un-trained ConvDecoder reconstructs better than zero-filling (mean validation SSIM).",
        _ranks_above("convdecoder", "zero_filled", strict=True),
    ),
]


def ranking(quality: pd.DataFrame, *, acceleration: int, scale: str, data: str) -> list[Verdict]:
    """The ranking verdicts on the quality table of one acceleration."""
    case = {"acceleration": acceleration}
    return [claim.verdict(case, scale, data, quality=quality) for claim in RANKING]
