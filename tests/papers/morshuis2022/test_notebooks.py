"""What the Morshuis 2022 notebooks stored in the session's smoke run (tests/conftest.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from mrirobust import claims, metrics
from mrirobust.papers.morshuis2022 import claims as morshuis_claims
from mrirobust.papers.morshuis2022 import profile

pytestmark = pytest.mark.notebook
ATTACK = profile.attack("smoke")


def test_fig1_table_covers_the_grid_and_eta0_is_the_clean_reconstruction(smoke_results):
    out = smoke_results.ok("morshuis2022_fig1")
    table = pd.read_csv(out / "noise_attack.csv")
    samples = table["sample"].nunique()
    etas = sorted(table["eta"].unique())
    assert etas == pytest.approx(sorted(ATTACK["eta_grid"]))
    region = table[table["mode"] == "region"]
    assert len(region) == 2 * 2 * len(etas) * samples  # models x accelerations x etas x boxes
    assert set(table[table["mode"] == "image"]["acceleration"]) == {8}
    assert table["ssim_region"].between(-1, 1).all()
    # without budget both attack modes return the unperturbed reconstruction
    at0 = table[(table["eta"] == 0) & (table["acceleration"] == 8)]
    wide = at0.pivot_table(index=["model", "sample"], columns="mode", values="ssim_region")
    np.testing.assert_allclose(wide["region"], wide["image"], atol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["thermal_noise_eta"] > 0
    assert "embedded synthetic" in summary["data"]
    stored = claims.load(out / "claims.json")
    expected = morshuis_claims.fig1(
        table,
        noise=pd.read_csv(out / "thermal_noise.csv"),
        eta_grid=ATTACK["eta_grid"],
        scale="smoke",
        data=summary["data"],
    )
    assert [(v.id, v.case, v.outcome, v.evidence) for v in stored] == [
        (v.id, v.case, v.outcome, v.evidence) for v in expected
    ]
    assert {v.id.split("/")[-1] for v in stored} >= {
        "same_degradation_slope",
        "varnet_better_than_unet",
    }


def test_fig2_noise_barely_changes_the_fully_sampled_image(smoke_results):
    out = smoke_results.ok("morshuis2022_fig2_fig3")
    scores = json.loads((out / "scores.json").read_text())
    fig2 = scores["fig2"]
    assert set(fig2) >= {"unet", "unet_attacked", "varnet", "varnet_attacked"}
    for name in ("unet", "varnet"):
        # the attack maximises the box MSE, so the box PSNR (fixed data range) falls; the box
        # SSIM need not (at smoke, after the data's edge blur, one attacked box scored higher)
        assert fig2[f"{name}_attacked"]["psnr_region"] <= fig2[name]["psnr_region"] + 1e-6
        assert fig2[f"target+noise_{name}"]["ssim_region"] > fig2[name]["ssim_region"]
    stored = claims.load(out / "claims.json")
    expected = morshuis_claims.fig2_fig3(
        scores, methods=["unet", "varnet"], fig3_method="varnet", scale="smoke", data=scores["data"]
    )
    assert [(v.id, v.case, v.outcome, v.evidence) for v in stored] == [
        (v.id, v.case, v.outcome, v.evidence) for v in expected
    ]
    images = np.load(out / "fig3_images.npz")
    assert set(images.files) == {"target", "clean", "targeted", "image"}
    target = images["target"]
    assert all(images[k].shape == target.shape for k in images.files)
    x, y, w, h = scores["box"]
    assert 0 <= x and x + w <= target.shape[1] and 0 <= y and y + h <= target.shape[0]


def test_fig4_worst_case_loss_grows_with_the_bound_and_fig5_matches_it(smoke_results):
    out = smoke_results.ok("morshuis2022_fig4_fig5")
    per_angle = pd.read_csv(out / "rotation_per_angle.csv")
    worst = pd.read_csv(out / "rotation_worst.csv")
    assert 0.0 in set(per_angle["angle"])
    assert sorted(worst["theta_max"].unique()) == pytest.approx(ATTACK["theta_max"])
    for _, curve in worst.groupby(["model", "acceleration", "sample"]):
        losses = curve.sort_values("theta_max")["loss"].to_numpy()
        assert (np.diff(losses) >= 0).all()  # the worst over a larger set is never smaller
        assert (curve["angle"].abs() <= curve["theta_max"] + 1e-6).all()
    summary = json.loads((out / "summary.json").read_text())
    stored = claims.load(out / "claims.json")
    falls = [v for v in stored if v.id.endswith("worst_ssim_falls_with_theta_max")]
    assert {(v.case["model"], v.case["acceleration"]) for v in falls} == {
        (m, a) for m in ("unet", "varnet") for a in (4, 8)
    }
    # Fig. 1's noise attacks ran first (the manifest's needs): rotation is compared with them
    milder = [v for v in stored if v.id.endswith("rotation_less_severe_than_noise")]
    assert len(milder) == 4
    example = summary["example"]
    row = per_angle[
        (per_angle["sample"] == example["sample"])
        & (per_angle["model"] == example["method"])
        & (per_angle["acceleration"] == example["acceleration"])
    ]
    assert example["worst_angle"] == pytest.approx(row.loc[row["loss"].idxmax(), "angle"])
    images = np.load(out / "fig5_images.npz")
    import torch

    rotated, target = (
        torch.from_numpy(images[k])[None] for k in ("fully_sampled_rotated", "target")
    )
    assert metrics.ssim(target, rotated).item() > 0.8  # rotation alone is nearly harmless
