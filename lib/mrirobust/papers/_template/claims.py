"""The template's findings as data: each `Claim` declares the case keys it is checked for, and
`check` evaluates every claim on every case of the stored table."""

from __future__ import annotations

import pandas as pd

from mrirobust import claims

CASE_KEYS = ("model",)  # one verdict per model of the table


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
    ),
)


def check(table: pd.DataFrame, scale: str, data: str) -> list[claims.Verdict]:
    """Every claim of `CLAIMS` on every case (each value of `CASE_KEYS`) of the stored table."""
    cases = table[list(CASE_KEYS)].drop_duplicates().to_dict("records")
    return [
        claim.verdict(case, scale, data, table=table, **case) for claim in CLAIMS for case in cases
    ]
