import numpy as np
import pandas as pd
import pytest

from mrirobust import claims
from mrirobust.papers.morshuis2022 import claims as morshuis_claims

ETAS = (0.0, 0.01, 0.02)
BOXES = 12


def _noise_table(targeted_drop: float, image_drop: float, varnet_gain=0.05, seed=0):
    """A per-box Fig. 1 table: unet and varnet at 4x and 8x, the targeted attack over three
    etas (SSIM falling by `targeted_drop` per 0.01 of eta, relative to the clean value); at 8x
    also the whole-image attack (`image_drop`). VarNet starts `varnet_gain` above the U-Net."""
    rng = np.random.default_rng(seed)
    clean = rng.uniform(0.6, 0.8, BOXES)
    rows = []
    for model in ("unet", "varnet"):
        start = clean + (varnet_gain if model == "varnet" else 0.0)
        for acc in (4, 8):
            modes = {"region": targeted_drop, **({"image": image_drop} if acc == 8 else {})}
            for mode, drop in modes.items():
                for eta in ETAS:
                    noise = rng.normal(0, 0.002, BOXES) if eta else 0.0
                    ssim = start * (1 - drop * eta / 0.01) + noise
                    rows += [(f"b{i}", model, acc, mode, eta, ssim[i]) for i in range(BOXES)]
    columns = ["sample", "model", "acceleration", "mode", "eta", "ssim_region"]
    return pd.DataFrame(rows, columns=columns)


def _noise(measured=0.01, generated=0.01, slices=6):
    """A thermal-noise table: per slice a measured and a generated level around the given."""
    spread = np.linspace(-0.05, 0.05, slices)
    return pd.DataFrame(
        {
            "file": "f",
            "slice": range(slices),
            "measured": measured * (1 + spread),
            "generated": generated * (1 + spread[::-1] / 2),
        }
    )


def _fig1(table, noise=None):
    noise = _noise() if noise is None else noise
    return morshuis_claims.fig1(table, noise=noise, eta_grid=ETAS, scale="smoke", data="synthetic")


def _outcomes(verdicts):
    return {(v.id.split("/", 1)[1], tuple(v.case.values())): v.outcome for v in verdicts}


def test_fig1_verdicts_follow_the_numbers_and_validate(tmp_path):
    verdicts = _fig1(_noise_table(targeted_drop=0.2, image_drop=0.05))
    assert _outcomes(verdicts) == {
        ("fig1/ssim_falls_with_eta", ("unet", 4)): "holds",
        ("fig1/ssim_falls_with_eta", ("unet", 8)): "holds",
        ("fig1/ssim_falls_with_eta", ("varnet", 4)): "holds",
        ("fig1/ssim_falls_with_eta", ("varnet", 8)): "holds",
        ("fig1/targeted_worse_than_image", ("unet", 8)): "holds",
        ("fig1/targeted_worse_than_image", ("varnet", 8)): "holds",
        ("fig1/varnet_better_than_unet", (4,)): "holds",
        ("fig1/same_degradation_slope", (4,)): "holds",
        ("fig1/varnet_better_than_unet", (8,)): "holds",
        ("fig1/same_degradation_slope", (8,)): "holds",
        ("fig1/thermal_noise_in_eta_range", ()): "holds",
        ("fig1/noise_estimate_matches_generator", ()): "holds",
    }
    falls = verdicts[0]
    assert falls.kind == "paper" and falls.evidence["n"] == BOXES
    assert falls.evidence["slope"] < 0 and falls.evidence["slope_ci95"][1] < 0
    claims.save(tmp_path, verdicts)  # the schema accepts them
    assert claims.load(tmp_path / "claims.json") == verdicts


def test_fig1_verdicts_report_findings_that_fail():
    # the whole-image attack hurts more, VarNet is worse and degrades 3x as fast: all fail
    table = _noise_table(targeted_drop=0.05, image_drop=0.2, varnet_gain=-0.05)
    varnet = table["model"] == "varnet"
    clean = table[varnet & (table["eta"] == 0)].set_index(["acceleration", "mode", "sample"])
    key = pd.MultiIndex.from_frame(table.loc[varnet, ["acceleration", "mode", "sample"]])
    start = clean["ssim_region"].reindex(key).to_numpy()
    table.loc[varnet, "ssim_region"] = start - 3 * (start - table.loc[varnet, "ssim_region"])
    outcomes = _outcomes(_fig1(table, _noise(measured=0.05)))
    assert outcomes[("fig1/targeted_worse_than_image", ("unet", 8))] == "fails"
    assert outcomes[("fig1/varnet_better_than_unet", (4,))] == "fails"
    assert outcomes[("fig1/same_degradation_slope", (4,))] == "fails"
    assert outcomes[("fig1/thermal_noise_in_eta_range", ())] == "fails"
    assert outcomes[("fig1/noise_estimate_matches_generator", ())] == "fails"
    assert outcomes[("fig1/ssim_falls_with_eta", ("unet", 4))] == "holds"


def test_the_noise_claims_need_generated_noise_and_separate_noise_at_the_range_end():
    table = _noise_table(targeted_drop=0.2, image_drop=0.05)
    real = _noise(generated=np.nan)  # a real scan: no generated level, no sanity verdict
    assert ("fig1/noise_estimate_matches_generator", ()) not in _outcomes(_fig1(table, real))
    edge = _noise(measured=max(ETAS))  # slices on both sides of the largest eta
    assert _outcomes(_fig1(table, edge))[("fig1/thermal_noise_in_eta_range", ())] == "inconclusive"


def test_a_claim_without_its_numbers_raises():
    table = _noise_table(0.2, 0.05)
    with pytest.raises(ValueError, match="no rows"):
        morshuis_claims.SSIM_FALLS_WITH_ETA.verdict(
            {}, "smoke", "synthetic", table=table, model="l1", acceleration=4
        )
    with pytest.raises(ValueError, match="no rows"):
        morshuis_claims.TARGETED_WORSE_THAN_IMAGE.verdict(
            {}, "smoke", "synthetic", table=table, model="unet", acceleration=4
        )


def _worst_table(unet_drop: float, varnet_drop: float):
    rng = np.random.default_rng(1)
    rows = []
    for model, drop in (("unet", unet_drop), ("varnet", varnet_drop)):
        for acc in (4, 8):
            clean = rng.uniform(0.6, 0.8, BOXES)
            for theta in (0.0, 1.0, 2.0):
                ssim = clean * (1 - drop * theta) + (rng.normal(0, 0.002, BOXES) if theta else 0)
                rows += [(f"b{i}", model, acc, theta, ssim[i]) for i in range(BOXES)]
    return pd.DataFrame(
        rows, columns=["sample", "model", "acceleration", "theta_max", "ssim_region"]
    )


def test_fig4_checks_every_model_and_acceleration_and_compares_with_the_noise():
    worst = _worst_table(unet_drop=0.02, varnet_drop=0.0)
    outcomes = _outcomes(morshuis_claims.fig4(worst, None, scale="smoke", data="synthetic"))
    assert outcomes[("fig4/worst_ssim_falls_with_theta_max", ("unet", 4))] == "holds"
    # flat: the worst rotation does not lower VarNet's SSIM, and the slopes differ
    assert outcomes[("fig4/worst_ssim_falls_with_theta_max", ("varnet", 8))] == "inconclusive"
    assert outcomes[("fig4/same_degradation_slope", (8,))] == "fails"
    assert not any("rotation_less_severe" in key for key, _ in outcomes)
    noise = _noise_table(targeted_drop=0.2, image_drop=0.05)
    verdicts = morshuis_claims.fig4(worst, noise, scale="smoke", data="synthetic")
    milder = [v for v in verdicts if v.id.endswith("rotation_less_severe_than_noise")]
    assert len(milder) == 4 and all(v.holds for v in milder)
    assert milder[0].evidence["theta_max"] == 2.0 and milder[0].evidence["eta"] == 0.02


def test_fig2_fig3_verdicts_compare_the_example_scores():
    def score(value):
        return {"ssim_region": value, "psnr_region": 20.0}

    scores = {
        "sample": "f/1/2,3,8,8",
        "eta": 0.02,
        "acceleration": 8,
        "fig2": {"target+noise_unet": score(0.95), "unet": score(0.8), "unet_attacked": score(0.4)},
        "fig3": {"clean": score(0.8), "targeted": score(0.5), "image": score(0.45)},
    }
    verdicts = morshuis_claims.fig2_fig3(
        scores, methods=["unet"], fig3_method="unet", scale="smoke", data="synthetic"
    )
    assert [(v.figure, v.holds) for v in verdicts] == [("fig2", True), ("fig3", False)]
    assert verdicts[0].case == {
        "sample": "f/1/2,3,8,8",
        "eta": 0.02,
        "acceleration": 8,
        "model": "unet",
    }
    assert verdicts[1].evidence == {"ssim_targeted": 0.5, "ssim_whole_image": 0.45}
    with pytest.raises(ValueError, match="no image 'target\\+noise_varnet'"):
        morshuis_claims.fig2_fig3(
            scores, methods=["varnet"], fig3_method="unet", scale="smoke", data="synthetic"
        )
