"""What notebooks/01_train_models.ipynb stored in the session's smoke run (tests/conftest.py)."""

import pandas as pd
import pytest

from mrirobust import claims
from mrirobust.papers.darestani2021 import claims as darestani_claims

pytestmark = pytest.mark.notebook


def test_quality_table_and_ranking_agree(smoke_results):
    result = smoke_results.results["train_models"]
    assert result.status == "ok", result.reason or result.error
    out = smoke_results.run_dir("train_models")
    table = pd.read_csv(out / "quality.csv", index_col="method")
    assert set(table.index) == {"zero_filled", "unet", "varnet", "l1", "convdecoder"}
    assert table["ssim_mean"].between(-1, 1).all() and (table["nmse_mean"] > 0).all()
    per_slice = pd.read_csv(out / "quality_per_slice.csv")
    means = per_slice.groupby("method")["ssim"].mean()
    assert means.to_dict() == pytest.approx(table["ssim_mean"].to_dict())
    stored = claims.load(out / "claims.json")
    expected = darestani_claims.ranking(
        per_slice, acceleration=4, scale="smoke", data=stored[0].data
    )
    assert [v.id for v in stored] == [
        "darestani2021/fig8/quality_ranking",
        "darestani2021/fig2/every_model_beats_zero_filled",
    ]
    assert [(v.id, v.kind, v.outcome, v.evidence) for v in stored] == [
        (v.id, v.kind, v.outcome, v.evidence) for v in expected
    ]
