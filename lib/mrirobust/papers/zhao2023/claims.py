"""The findings of Zhao et al. 2023 as claims checked on the stored tables.

`table` is `experiments.challenge_table(...)` (model, modality, acceleration, psnr, ssim, nmse);
`maps` is `experiments.map_table(...)` (myocardial map errors, synthetic data only).
"""

from __future__ import annotations

import pandas as pd

from mrirobust.claims import Claim


def _row(table: pd.DataFrame, model: str, modality: str, acceleration: int) -> pd.Series:
    rows = table[
        (table["model"] == model)
        & (table["modality"] == modality)
        & (table["acceleration"] == acceleration)
    ]
    if len(rows) != 1:
        raise ValueError(f"no single row for {model} {modality} R{acceleration} in the table")
    return rows.iloc[0]


def _vn_beats_rvn(table, modality, acceleration):
    vn, rvn = (_row(table, m, modality, acceleration) for m in ("vn", "rvn"))
    holds = vn["psnr"] > rvn["psnr"] and vn["ssim"] > rvn["ssim"]
    return holds, dict(
        psnr_vn=vn["psnr"], psnr_rvn=rvn["psnr"], ssim_vn=vn["ssim"], ssim_rvn=rvn["ssim"]
    )


def _relax_not_worse(table, modality, acceleration, tolerance_db=0.2):
    relax, vn = (_row(table, m, modality, acceleration) for m in ("vn_relax", "vn"))
    holds = relax["psnr"] >= vn["psnr"] - tolerance_db
    return holds, dict(psnr_relax=relax["psnr"], psnr_vn=vn["psnr"], tolerance_db=tolerance_db)


def _monotone(values: list, direction: int) -> bool:
    """Strictly increasing (direction 1) or decreasing (-1)."""
    return all(direction * (b - a) > 0 for a, b in zip(values, values[1:], strict=False))


def _falls_with_acceleration(table, model, modality, accelerations):
    rows = [_row(table, model, modality, r) for r in accelerations]
    psnr, ssim, nmse = ([row[k] for row in rows] for k in ("psnr", "ssim", "nmse"))
    holds = _monotone(psnr, -1) and _monotone(ssim, -1) and _monotone(nmse, 1)
    return holds, dict(accelerations=accelerations, psnr=psnr, ssim=ssim, nmse=nmse)


def _beats_zero_filled(table, model, modality, accelerations):
    pairs = [
        (_row(table, model, modality, r), _row(table, "zero_filled", modality, r))
        for r in accelerations
    ]
    holds = all(m["psnr"] > z["psnr"] and m["ssim"] > z["ssim"] for m, z in pairs)
    return holds, dict(
        accelerations=accelerations,
        psnr_model=[m["psnr"] for m, _ in pairs],
        psnr_zero_filled=[z["psnr"] for _, z in pairs],
    )


def _relax_lowers_map_error(maps, modality, acceleration):
    relax, vn = (_row(maps, m, modality, acceleration) for m in ("vn_relax", "vn"))
    holds = relax["mae_vs_full_ms"] <= vn["mae_vs_full_ms"]
    return holds, dict(mae_relax_ms=relax["mae_vs_full_ms"], mae_vn_ms=vn["mae_vs_full_ms"])


def _map_error_grows(maps, model, modality, low, high):
    a, b = (_row(maps, model, modality, r) for r in (low, high))
    return b["mae_vs_full_ms"] > a["mae_vs_full_ms"], dict(
        **{f"mae_R{low}_ms": a["mae_vs_full_ms"], f"mae_R{high}_ms": b["mae_vs_full_ms"]}
    )


VN_BEATS_RVN = Claim(
    "zhao2023/table1/vn_unet_beats_rvn",
    "VN-UNet reconstructs the T1 series better than RVN (PSNR and SSIM)",
    _vn_beats_rvn,
)
RELAX_NOT_WORSE = Claim(
    "zhao2023/table1/relax_not_worse",
    "relaxometry guidance does not lower PSNR (VN-UNet-relax >= VN-UNet - 0.2 dB)",
    _relax_not_worse,
)
FALLS_WITH_R = Claim(
    "zhao2023/table2/quality_falls_with_acceleration",
    "PSNR and SSIM fall and NMSE rises from R = 4 to 8 to 10",
    _falls_with_acceleration,
)
BEATS_ZERO_FILLED = Claim(
    "zhao2023/table2/beats_zero_filled",
    "the reconstruction beats zero-filling (PSNR and SSIM) at every R",
    _beats_zero_filled,
)
RELAX_MAP_ERROR = Claim(
    "zhao2023/maps/relax_lowers_map_error",
    "relaxometry guidance lowers the myocardial map error (judge fit vs fully sampled fit)",
    _relax_lowers_map_error,
)
MAP_ERROR_GROWS = Claim(
    "zhao2023/maps/map_error_grows_with_acceleration",
    "the myocardial map error is larger at R = 10 than at R = 4",
    _map_error_grows,
)
