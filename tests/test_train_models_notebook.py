"""What notebooks/01_train_models.ipynb stored in the session's smoke run (tests/conftest.py)."""

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.notebook


def test_quality_table_and_ranking_agree(smoke_results):
    result = smoke_results.results["train_models"]
    assert result.status == "ok", result.reason or result.error
    out = smoke_results.run_dir("train_models")
    table = pd.read_csv(out / "quality.csv", index_col="method")
    assert set(table.index) == {"zero_filled", "unet", "varnet", "l1", "convdecoder"}
    assert table["ssim_mean"].between(-1, 1).all() and (table["nmse_mean"] > 0).all()
    ssim = table["ssim_mean"]
    ranking = json.loads((out / "ranking.json").read_text())
    assert ranking == {
        "varnet >= unet": bool(ssim["varnet"] >= ssim["unet"]),
        "unet > l1": bool(ssim["unet"] > ssim["l1"]),
        "l1 > zero_filled": bool(ssim["l1"] > ssim["zero_filled"]),
        "convdecoder > zero_filled": bool(ssim["convdecoder"] > ssim["zero_filled"]),
    }
