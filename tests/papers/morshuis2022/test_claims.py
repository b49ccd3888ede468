import pandas as pd
import pytest

from mrirobust import claims
from mrirobust.papers.morshuis2022 import claims as morshuis_claims


def _noise_summary(region_last: float, image_last: float) -> pd.DataFrame:
    """A Fig. 1 summary: unet and varnet at 4x and 8x, region attack over three etas; at 8x
    also the whole-image attack. The varnet starts above the unet."""
    rows = []
    for model, start in (("unet", 0.80), ("varnet", 0.85)):
        for acc in (4, 8):
            for eta, mean in ((0.0, start), (0.01, start - 0.1), (0.02, region_last)):
                rows.append(("region", model, acc, eta, mean))
            if acc == 8:
                for eta, mean in ((0.0, start), (0.01, start - 0.05), (0.02, image_last)):
                    rows.append(("image", model, acc, eta, mean))
    table = pd.DataFrame(rows, columns=["mode", "model", "acceleration", "eta", "mean"])
    return table.assign(ci_low=table["mean"] - 0.04, ci_high=table["mean"] + 0.04, count=16)


def _fig1(summary):
    return morshuis_claims.fig1(
        summary,
        methods=["unet", "varnet"],
        accelerations=[4, 8],
        compare_accelerations=[8],
        scale="smoke",
        data="synthetic",
    )


def test_fig1_verdicts_follow_the_numbers_and_validate(tmp_path):
    verdicts = _fig1(_noise_summary(region_last=0.3, image_last=0.5))
    ids = [v.id.split("/")[-1] for v in verdicts]
    assert (
        ids
        == ["ssim_falls_with_eta"] * 4
        + ["bands_separate"] * 4
        + ["targeted_worse_than_image"] * 2
        + ["varnet_clean_ge_unet"] * 2
    )
    assert all(v.holds for v in verdicts)
    first = verdicts[0]
    assert first.case == {"model": "unet", "acceleration": 4}
    assert first.evidence == {
        "eta_first": 0.0,
        "ssim_first": 0.8,
        "eta_last": 0.02,
        "ssim_last": 0.3,
    }
    claims.save(tmp_path, verdicts)  # the schema accepts them
    assert claims.load(tmp_path / "claims.json") == verdicts


def test_fig1_verdicts_report_a_finding_that_does_not_hold():
    # the whole-image attack ends lower than the targeted one: that finding does not hold
    verdicts = _fig1(_noise_summary(region_last=0.5, image_last=0.3))
    held = {(v.id.split("/")[-1], tuple(v.case.values())): v.holds for v in verdicts}
    assert held[("targeted_worse_than_image", ("unet", 8))] is False
    assert held[("ssim_falls_with_eta", ("unet", 4))] is True


def test_a_claim_without_its_numbers_raises():
    summary = _noise_summary(0.3, 0.5)
    with pytest.raises(ValueError, match="no rows"):
        morshuis_claims.SSIM_FALLS_WITH_ETA.verdict(
            {}, "smoke", "synthetic", summary=summary, model="l1", acceleration=4
        )
    with pytest.raises(ValueError, match="both attack modes"):
        morshuis_claims.TARGETED_WORSE_THAN_IMAGE.verdict(
            {}, "smoke", "synthetic", summary=summary, model="unet", acceleration=4
        )


def test_fig4_checks_every_model_and_acceleration_of_the_summary():
    rows = [
        (model, acc, theta, 0.8 - (0.1 * theta if model == "unet" else 0.0))
        for model in ("unet", "varnet")
        for acc in (4, 8)
        for theta in (0.0, 1.0, 2.0)
    ]
    summary = pd.DataFrame(rows, columns=["model", "acceleration", "theta_max", "mean"])
    verdicts = morshuis_claims.fig4(summary, scale="smoke", data="synthetic")
    assert [(v.case["model"], v.case["acceleration"], v.holds) for v in verdicts] == [
        ("unet", 4, True),
        ("unet", 8, True),
        ("varnet", 4, False),  # flat: the worst rotation does not lower it
        ("varnet", 8, False),
    ]


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


def test_bands_separate_needs_the_attacked_band_below_the_clean_band():
    summary = _noise_summary(region_last=0.3, image_last=0.5)
    case = {"model": "unet", "acceleration": 4}
    verdict = morshuis_claims.BANDS_SEPARATE.verdict(
        case, "smoke", "synthetic", summary=summary, **case
    )
    assert verdict.holds and verdict.evidence["boxes"] == 16
    wide = summary.assign(ci_low=summary["mean"] - 0.3, ci_high=summary["mean"] + 0.3)
    verdict = morshuis_claims.BANDS_SEPARATE.verdict(
        case, "smoke", "synthetic", summary=wide, **case
    )
    assert not verdict.holds
