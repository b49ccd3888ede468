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


_ORDER = [  # (first, second, strict, what is compared)
    ("varnet", "unet", False, "E2E-VarNet reconstructs at least as well as the U-Net"),
    ("unet", "l1", True, "The U-Net reconstructs better than l1-wavelet CS"),
    ("l1", "zero_filled", True, "l1-wavelet CS reconstructs better than zero-filling"),
    ("convdecoder", "zero_filled", True, "The un-trained ConvDecoder beats zero-filling"),
]
RANKING = [
    Claim(
        f"darestani2021/fig2/{first}_{'gt' if strict else 'ge'}_{second}",
        f"{statement} (mean validation SSIM).",
        _ranks_above(first, second, strict),
    )
    for first, second, strict, statement in _ORDER
]


def ranking(quality: pd.DataFrame, *, acceleration: int, scale: str, data: str) -> list[Verdict]:
    """The ranking verdicts on the quality table of one acceleration."""
    case = {"acceleration": acceleration}
    return [claim.verdict(case, scale, data, quality=quality) for claim in RANKING]
