"""The template's findings as data: each `Claim` declares its cases (here one per model of the
stored table) and `claims.check_all` checks every claim on every case."""

from __future__ import annotations

import pandas as pd

from mrirobust import claims


def _ssim_falls(table: pd.DataFrame, model: str):
    curves = claims.curves(table, "sigma", "ssim", f"template {model}", model=model)
    return claims.falls_along(curves.columns.to_numpy(float), curves.to_numpy(float))


CLAIMS = (
    claims.Claim(
        "template/fig1/noise_lowers_ssim",
        "Noise in the measurements lowers the reconstruction's SSIM: the mean per-slice "
        "least-squares slope of SSIM over the noise level σ lies below 0.",
        _ssim_falls,
        kind="sanity",
        cases=claims.cases("table", "model"),
    ),
)


def check(table: pd.DataFrame, scale: str, data: str) -> list[claims.Verdict]:
    """Every claim of `CLAIMS` on every case of the stored table."""
    return claims.check_all(CLAIMS, scale, data, table=table)
