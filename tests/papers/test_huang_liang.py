import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mrirobust.papers.huang_liang import claims as c
from mrirobust.papers.huang_liang import experiments as e
from mrirobust.papers.huang_liang.networks import spec
from mrirobust.papers.huang_liang.profile import EVALUATE, TRAIN
from mrirobust.training import adversarial
from mrirobust.training.adversarial import PARAMS


def test_eps_keeps_the_per_pixel_rms_of_the_paper():
    assert e.eps_for(1e3, (320, 320)) == pytest.approx(1e3)
    assert e.eps_for(1e3, (128, 128)) == pytest.approx(160)
    assert e.eps_for(5e3, (64, 64)) == pytest.approx(200)
    assert e.rho(e.eps_for(1e3, (128, 128)), (128, 128)) == pytest.approx(0.0988, abs=1e-4)
    assert e.rho(5e3, (320, 320)) == pytest.approx(0.221, abs=1e-3)


def test_reference_metrics_are_the_reference_codes_swapped_skimage_calls():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(3, 24, 20, generator=g, dtype=torch.float64)
    pred = target + 0.3 * torch.randn(3, 24, 20, generator=g, dtype=torch.float64)
    ours = e.reference_metrics(pred, target)
    # the reference: ssim/psnr/nmse(gt, pred) called as (output, target), batch as channels
    gt, pr = pred.numpy().transpose(1, 2, 0), target.numpy().transpose(1, 2, 0)
    ssim = structural_similarity(gt, pr, channel_axis=-1, data_range=gt.max())
    psnr = peak_signal_noise_ratio(gt, pr, data_range=gt.max())
    nmse = np.linalg.norm(gt - pr) ** 2 / np.linalg.norm(gt) ** 2
    assert ours == pytest.approx({"ssim": ssim, "psnr": psnr, "nmse": nmse}, rel=1e-6)


@pytest.mark.parametrize(
    "kind, budget, changes, words",
    [
        ("image", -1.0, {}, "eps must be a finite number >= 0"),
        ("image", math.inf, {}, "eps must be a finite number >= 0"),
        ("kspace", math.nan, {}, "eta must be a finite number >= 0"),
        ("standard", 5.0, {}, "no perturbation budget"),
        ("pixel", 1.0, {}, "valid: standard, image, kspace"),
        ("image", 1.0, {"batch_size": 1}, "batch_size must be an integer >= 2"),
        ("image", 1.0, {"steps_per_epoch": -1}, "steps_per_epoch must be an integer >= 0"),
        ("image", 1.0, {"hinge": "pixel"}, "hinge one of batch, sample"),
        ("image", 1.0, {"lr_g": 1.0}, r"unknown \['lr_g'\]"),
        ("image", 1.0, {"ssim_range": 0.0}, "ssim_range of the DSSIM loss must be a finite"),
        ("standard", 0, {"ssim_sigma": math.nan}, "ssim_sigma of the DSSIM loss must be a finite"),
    ],
)
def test_bad_specs_are_clear_errors(kind, budget, changes, words):
    with pytest.raises(ValueError, match=words):
        params = {k: TRAIN.resolve("smoke")[k] for k in PARAMS}
        spec(kind, "smoke", budget, {**params, **changes})


def test_model_specs_scale_the_budgets_to_the_image(smoke_root):
    specs = e.model_specs("smoke", kspace=True)
    assert list(specs) == ["S", "A(eps=1000)", "A(eps=5000)", "K(eta=0.02)"]
    assert specs["A(eps=1000)"].params["budget"] == pytest.approx(40.0)  # 1e3 x 64^2 / 320^2
    assert specs["S"].params["alpha1"] == 0 and specs["A(eps=5000)"].params["alpha1"] == 1
    assert {s.params["challenge"] for s in specs.values()} == {"singlecoil"}
    with pytest.raises(ValueError, match="unknown 'huang_liang.train' parameter 'lr_g'"):
        e.model_specs("smoke", {"lr_g": 1.0})


def test_shape_profile_is_the_paper_configuration_cut_to_one_step(smoke_root):
    paper, shape = TRAIN.resolve("paper"), TRAIN.resolve("shape")
    # the paper's structure: 5 pools, the 7-layer generator of 2048-64 channels, DSSIM loss
    same = ("unet_pools", "unet_variant", "gen_ngf", "gen_nz", "kgen_pools", "lr", "ssim_range")
    assert {k: shape[k] for k in same} == {k: paper[k] for k in same}
    assert (shape["epochs"], shape["steps_per_epoch"], shape["batch_size"]) == (1, 1, 2)
    ev = EVALUATE.resolve("shape")
    assert ev["image_pgd_steps"] == ev["kspace_pgd_steps"] == ev["cross_pgd_steps"] == 1
    for grid in ("eta_grid", "eps_grid", "rho_grid", "theta_max"):
        assert ev[grid] == [EVALUATE.resolve("paper")[grid][i] for i in (0, -1)]
    # the late key enters a spec (and its checkpoint name) only where it is set
    assert "steps_per_epoch" not in e.model_specs("smoke")["S"].params
    assert e.model_specs("smoke", {"steps_per_epoch": 1})["S"].params["steps_per_epoch"] == 1


def test_paper_profile_is_the_reference_setting():
    p = TRAIN.resolve("paper")
    assert (p["unet_chans"], p["unet_pools"], p["gen_ngf"], p["batch_size"]) == (64, 5, 64, 8)
    assert (p["lr"], p["weight_decay"], p["alpha1"], p["eps_ref"]) == (1e-4, 0.01, 1.0, [1e3, 5e3])
    assert EVALUATE.resolve("paper")["example_slices"] == [9, 73, 137, 553, 569]
    assert p["ssim_range"] == 1.0  # pytorch_ssim's L


def _disc_and_noisy_target(size: int = 64, noise: float = 0.1):
    """A bright disc on a dark background in normalised units, and the target: it plus noise."""
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disc = (rows - size // 2) ** 2 + (cols - size // 2) ** 2 < (size // 3) ** 2
    clean = torch.where(disc, 1.5, -0.8)[None]
    g = torch.Generator().manual_seed(0)
    return disc, clean, clean + noise * torch.randn(clean.shape, generator=g)


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_the_training_loss_pins_the_background_intensity(scale):
    """The cpu U-Nets trained with the paper's L = 1 came out bright where the target is dark
    noise (val PSNR below zero-filled): there C2 = 9e-4 is far below the noise variance, SSIM's
    contrast-structure term is ~0 whatever the intensity, and the loss rewards copying noise more
    than getting the intensity right. With the profile's L a noise-free output with the right
    intensities must cost less than half of one whose background is 0.5 units too bright."""
    disc, clean, target = _disc_and_noisy_target()
    p = TRAIN.resolve(scale)
    right = adversarial.dssim(target, clean, p)
    bright_background = adversarial.dssim(target, clean + 0.5 * ~disc, p)
    assert bright_background > 2 * right
    reference = adversarial.dssim(target, clean + 0.5 * ~disc, {**p, "ssim_range": 1.0})
    assert reference < 2 * adversarial.dssim(target, clean, {**p, "ssim_range": 1.0})


def test_mask_statistics_sample_a_quarter_and_the_centre(smoke_root):
    stats = e.mask_stats("smoke", seeds=40)
    assert stats["centre_always_sampled"]
    assert abs(stats["mean_fraction_of_acquired"] - 0.25) < 0.03


def _table1(ssim):
    """A Table 1 with val SSIM `ssim[model]` in both rules (PSNR = 20 SSIM, NMSE = 1 − SSIM)."""
    rows = [
        {
            "model": m,
            "split": split,
            "rule": rule,
            "ssim": v - d,
            "psnr": 20 * (v - d),
            "nmse": 1 - v,
        }
        for m, v in ssim.items()
        for split, d in (("train", -0.01), ("val", 0.0))
        for rule in ("fastmri", "reference")
    ]
    return pd.DataFrame(rows)


def test_table1_claims_hold_on_the_papers_numbers_and_fail_when_reversed():
    stats = {
        "mean_fraction_of_acquired": 0.251,
        "expected_fraction": 0.25,
        "centre_always_sampled": True,
    }
    paper = {"zero-filled": 0.5, "S": 0.628, "A(eps=1000)": 0.606, "A(eps=5000)": 0.601}
    verdicts = {
        (v.id, json.dumps(v.case)): v for v in c.table1_verdicts(_table1(paper), stats, "smoke")
    }
    assert all(v.holds for k, v in verdicts.items() if "nmse" not in k[0])
    reversed_ = {**paper, "S": 0.55}
    again = c.table1_verdicts(_table1(reversed_), stats, "smoke")
    failed = {v.id for v in again if not v.holds}
    assert "huang_liang/table1/val_ssim_S_gt_A_eps1" in failed
    assert "huang_liang/table1/val_psnr_order" in failed


def test_a_unet_with_higher_ssim_but_lower_psnr_than_zero_filled_fails_the_sanity_claim():
    """The cpu U-Nets trained with DSSIM at L = 1: SSIM above zero-filled, PSNR far below."""
    stats = {"mean_fraction_of_acquired": 0.25, "expected_fraction": 0.25}
    stats["centre_always_sampled"] = True
    table = _table1({"zero-filled": 0.5, "S": 0.628, "A(eps=1000)": 0.606, "A(eps=5000)": 0.601})
    key = "huang_liang/sanity/beats_zero_filled_in_every_metric"
    assert all(v.holds for v in c.table1_verdicts(table, stats, "smoke") if v.id == key)
    bright = (table.model == "S") & (table.rule == "fastmri")
    table.loc[bright, "psnr"], table.loc[bright, "nmse"] = 5.0, 0.9
    verdicts = [v for v in c.table1_verdicts(table, stats, "smoke") if v.id == key]
    assert [v.case["model"] for v in verdicts if not v.holds] == ["S"]


def test_fair_robustness_compares_ssim_drops_and_reports_attacked_ssim():
    rows = [
        {
            "eps_model": "A(eps=1000)",
            "attack": a,
            "model": m,
            "slice": i,
            "ssim_attacked": s,
            "ssim_drop": d,
            "amplification": amp,
        }
        for i in range(3)
        for a, m, s, d, amp in (
            ("own_G", "A", 0.50, 0.05, 0.5),
            ("own_G", "S", 0.55, 0.10, 1.4),
            ("image_pgd", "A", 0.40, 0.15, 0.5),
            ("image_pgd", "S", 0.50, 0.10, 1.4),
            ("co_trained_G", "A", 0.60, 0.01, 0.3),
            ("co_trained_G", "S", 0.40, 0.20, 1.5),
        )
    ]
    verdicts = {v.id.rsplit("/", 1)[-1]: v for v in c.fig6_verdicts(pd.DataFrame(rows), "smoke")}
    assert verdicts["own_G"].holds and verdicts["own_G"].evidence["attacked_ssim_S"] == 0.55
    assert not verdicts["image_pgd"].holds
    assert verdicts["standard_amplifies"].holds and verdicts["adv_suppresses"].holds


def test_claims_that_cannot_be_evaluated_raise():
    with pytest.raises(ValueError, match="at least 10 iterations"):
        c.LOSS_R_DECREASES.check(iterations=pd.DataFrame({"loss_R": [1.0, 0.5]}))
    with pytest.raises(ValueError, match="0 rows for 'S' val fastmri"):
        c.VAL_SSIM_S_GT_A.check(table=_table1({"A(eps=1000)": 0.5}), rule="fastmri")


def test_fig6_example_slices_outside_the_attacked_ones_are_a_clear_error(smoke_root):
    ev = EVALUATE.resolve("smoke", {"example_slices": [7]})
    trained = {"S": e.Trained(e.model_specs("smoke")["S"], None, None, {})}
    with pytest.raises(ValueError, match=r"example_slices \[7\] must lie in 0\.\.3"):
        e.fig6(trained, "smoke", ev)
