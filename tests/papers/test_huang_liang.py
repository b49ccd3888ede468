import math

import numpy as np
import pandas as pd
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mrirobust import claims, metrics
from mrirobust.papers.huang_liang import claims as c
from mrirobust.papers.huang_liang import experiments as e
from mrirobust.papers.huang_liang import figures, jobs
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


def test_per_slice_metrics_average_to_the_batch_and_volume_rules():
    g = torch.Generator().manual_seed(1)
    target = torch.rand(3, 24, 20, generator=g, dtype=torch.float64)
    pred = target + 0.1 * torch.randn(3, 24, 20, generator=g, dtype=torch.float64)
    batch, per_slice = e.reference_metrics(pred, target), e.reference_slice_metrics(pred, target)
    assert per_slice["ssim"].mean() == pytest.approx(batch["ssim"], rel=1e-9)
    top, err = pred.max(), ((pred - target) ** 2).sum(dim=(-2, -1))
    np.testing.assert_allclose(per_slice["nmse"], err / (pred**2).sum(dim=(-2, -1)))
    np.testing.assert_allclose(per_slice["psnr"], 10 * torch.log10(top**2 / (err / 480)))
    volume = metrics.evaluate_volume(target, pred)
    slices = e.fastmri_slice_metrics(target, pred)
    assert slices["ssim"].mean() == pytest.approx(volume["ssim"], rel=1e-6)
    assert slices["psnr"].shape == slices["nmse"].shape == (3,)


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


SLICES = 12
PAPER_SSIM = {"zero-filled": 0.5, "S": 0.628, "A(eps=1000)": 0.606, "A(eps=5000)": 0.601}


def _table1_slices(ssim, train_gain=0.05, noise=0.002, seed=0):
    """Per-slice Table 1 scores (`experiments.table1`'s second table): the SSIM of `model` on
    each slice is `ssim[model]` plus the slice's difficulty (shared by the models, std 0.02) and
    a small noise; train slices score `train_gain` higher; PSNR = 40 SSIM, NMSE = 1 − SSIM."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, gain in (("train", train_gain), ("val", 0.0)):
        difficulty = rng.normal(0, 0.02, SLICES)
        for rule in ("fastmri", "reference"):
            for model, value in ssim.items():
                scores = value + gain + difficulty + rng.normal(0, noise, SLICES)
                rows += [
                    {"model": model, "split": split, "rule": rule, "slice": i, "ssim": v}
                    for i, v in enumerate(scores)
                ]
    table = pd.DataFrame(rows)
    return table.assign(psnr=40 * table.ssim, nmse=1 - table.ssim)


MASK = {"mean_fraction_of_acquired": 0.251, "expected_fraction": 0.25}
MASK["centre_always_sampled"] = True


def _outcomes(verdicts):
    return {(v.id.split("/", 1)[1], *v.case.values()): v.outcome for v in verdicts}


def test_table1_claims_hold_on_the_papers_numbers(tmp_path):
    verdicts = c.table1_verdicts(_table1_slices(PAPER_SSIM), MASK, "smoke")
    outcomes = _outcomes(verdicts)
    # NMSE = 1 − SSIM here, so A(1e3)'s NMSE is above S's: the one claim that fails
    assert outcomes.pop(("table1/nmse_A_eps1_lt_S", "reference", "A(eps=1000)")) == "fails"
    assert set(outcomes.values()) == {"holds"}
    assert len(outcomes) == 2 * (3 + 3 + 3) + 1  # rules x (orders, quality, train) + mask
    by_id = {(v.id, v.case.get("rule"), v.case.get("model")): v for v in verdicts}
    ssim = by_id[("huang_liang/table1/val_ssim_S_gt_A_eps1", "fastmri", None)]
    assert ssim.kind == "paper" and ssim.evidence["n"] == SLICES
    assert ssim.evidence["gap"] == pytest.approx(0.022, abs=0.002)
    assert 0 < ssim.evidence["gap_ci95"][0] < ssim.evidence["gap_ci95"][1]
    quality = by_id[("huang_liang/table1/reasonable_quality", "reference", "A(eps=5000)")]
    assert quality.evidence["nmse_gap"][0] == pytest.approx(0.101, abs=0.002)
    assert by_id[("huang_liang/fig5/mask_fraction", None, None)].kind == "sanity"
    claims.save(tmp_path, verdicts)  # the schema accepts them


def test_table1_claims_fail_when_reversed_and_are_inconclusive_within_the_noise():
    reversed_ = c.table1_verdicts(_table1_slices({**PAPER_SSIM, "S": 0.55}), MASK, "smoke")
    outcomes = _outcomes(reversed_)
    for rule in ("fastmri", "reference"):
        assert outcomes[("table1/val_ssim_S_gt_A_eps1", rule)] == "fails"
        assert outcomes[("table1/val_psnr_order", rule)] == "fails"
        assert outcomes[("table1/reasonable_quality", rule, "S")] == "holds"  # 0.55 > 0.5
    # A(1e3) and A(5e3) equal up to a per-slice noise 5x their mean gap: no verdict
    close = {**PAPER_SSIM, "A(eps=5000)": 0.6058}
    outcomes = _outcomes(c.table1_verdicts(_table1_slices(close, noise=0.01), MASK, "smoke"))
    assert outcomes[("table1/val_ssim_A_eps1_gt_A_eps2", "fastmri")] == "inconclusive"
    # train and validation differ by less than their slices' spread: unpaired, inconclusive
    outcomes = _outcomes(c.table1_verdicts(_table1_slices(PAPER_SSIM, 0.005), MASK, "smoke"))
    assert outcomes[("table1/train_gt_val", "fastmri", "S")] == "inconclusive"


def test_the_training_control_checks_the_nmse_comparison_on_the_longer_trained_models():
    ahead = _table1_slices({"S": 0.628, "A(eps=1000)": 0.606}).assign(epochs=12)
    (verdict,) = c.control_verdicts(ahead, "cpu")
    assert verdict.id == "huang_liang/table1/nmse_A_eps1_lt_S" and verdict.kind == "control"
    assert verdict.case == {"rule": "reference", "model": "A(eps=1000)", "epochs": 12}
    assert verdict.outcome == "fails"  # NMSE = 1 - SSIM: A(1e3) is behind on both splits
    behind = _table1_slices({"S": 0.606, "A(eps=1000)": 0.628}).assign(epochs=12)
    assert c.control_verdicts(behind, "cpu")[0].outcome == "holds"


def test_the_training_control_adds_s_and_the_first_a_trained_longer(smoke_root):
    settings = {"train_overrides": {}, "evaluate_overrides": {}}
    images = jobs.image_models("smoke", settings)
    table1 = jobs.table1_models("smoke", settings)
    assert table1[: len(images)] == images
    epochs = EVALUATE.resolve("smoke")["control_epochs"]
    assert [job.name for job in table1[len(images) :]] == [
        f"huang_liang-S-{epochs}ep",
        f"huang_liang-A(eps=1000)-{epochs}ep",
    ]
    assert len({job.identity for job in table1}) == len(table1)
    none = {**settings, "evaluate_overrides": {"control_epochs": 0}}
    assert jobs.table1_models("smoke", none) == images


def test_with_one_adversarial_model_table1_has_no_eps_order():
    one = {k: v for k, v in PAPER_SSIM.items() if k != "A(eps=5000)"}
    outcomes = _outcomes(c.table1_verdicts(_table1_slices(one), MASK, "smoke"))
    assert not any(key[0] == "table1/val_ssim_A_eps1_gt_A_eps2" for key in outcomes)
    assert outcomes[("table1/val_psnr_order", "fastmri")] == "holds"


def test_a_unet_with_higher_ssim_but_lower_psnr_than_zero_filled_lacks_reasonable_quality():
    """The cpu U-Nets trained with DSSIM at L = 1: SSIM above zero-filled, PSNR far below."""
    slices = _table1_slices(PAPER_SSIM)
    bright = (slices.model == "S") & (slices.rule == "fastmri")
    slices.loc[bright, "psnr"] -= 10.0
    verdicts = [
        v for v in c.table1_verdicts(slices, MASK, "smoke") if v.id.endswith("reasonable_quality")
    ]
    assert [v.case for v in verdicts if not v.holds] == [{"rule": "fastmri", "model": "S"}]
    failed = next(v for v in verdicts if not v.holds)
    assert failed.outcome == "fails" and failed.evidence["ssim_gap"][1] > 0


def test_table1_claims_on_identical_outputs_or_other_slices():
    slices = _table1_slices(PAPER_SSIM)
    twin = slices[slices.model == "S"].assign(model="A(eps=1000)")
    same = pd.concat([twin, slices[slices.model != "A(eps=1000)"]], ignore_index=True)
    # two models that reconstruct alike (one training step at shape) cannot be told apart
    outcome, evidence = c.VAL_SSIM_S_GT_A.check(slices=same, rule="fastmri")
    assert outcome == "inconclusive" and evidence["identical_outputs"] == ["S"]
    fewer = slices[~((slices.model == "S") & (slices.slice == 3))]
    with pytest.raises(ValueError, match="not scored on the same units"):
        c.VAL_SSIM_S_GT_A.check(slices=fewer, rule="fastmri")
    with pytest.raises(ValueError, match="no rows with"):
        c.VAL_SSIM_S_GT_A.check(slices=slices, rule="other")


def _fig6_rows(scores, seed=0):
    """Per-slice Fig. 6 rows for A(1e3): `scores[(attack, model)]` = (attacked SSIM, drop,
    amplification) means, each slice adding a small noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for (attack, model), (attacked, drop, amplification) in scores.items():
        noise = rng.normal(0, 0.005, (3, SLICES))
        rows += [
            {
                "eps_model": "A(eps=1000)",
                "attack": attack,
                "model": model,
                "slice": i,
                "ssim_attacked": attacked + noise[0, i],
                "ssim_drop": drop + noise[1, i],
                "amplification": amplification + noise[2, i],
            }
            for i in range(SLICES)
        ]
    return pd.DataFrame(rows)


FIG6 = {
    ("own_G", "A"): (0.50, 0.05, 0.5),
    ("own_G", "S"): (0.55, 0.10, 1.4),
    ("image_pgd", "A"): (0.40, 0.15, 0.5),
    ("image_pgd", "S"): (0.50, 0.10, 1.4),
    ("co_trained_G", "A"): (0.60, 0.01, 0.3),
    ("co_trained_G", "S"): (0.40, 0.20, 1.5),
}


def test_fig6_claims_compare_per_slice_and_report_attacked_ssim():
    verdicts = {v.id.rsplit("/", 1)[-1]: v for v in c.fig6_verdicts(_fig6_rows(FIG6), "smoke")}
    assert {k: v.outcome for k, v in verdicts.items()} == {
        "adv_better_under_its_G": "holds",
        "standard_amplifies": "holds",
        "adv_suppresses": "holds",
        "own_G": "holds",
        "image_pgd": "fails",  # A drops more
    }
    own = verdicts["own_G"]
    assert own.kind == "beyond" and own.evidence["n"] == SLICES
    assert own.evidence["attacked_ssim_S"] == pytest.approx(0.55, abs=0.005)
    assert verdicts["adv_better_under_its_G"].kind == "paper"
    # S passes the perturbation on unchanged (amplification 1 within the noise): no verdict;
    # A amplifies above 1: it does not suppress, though it is below S
    changed = {**FIG6, ("co_trained_G", "S"): (0.4, 0.2, 1.0), ("co_trained_G", "A"): (0.6, 0, 1.2)}
    verdicts = {v.id.rsplit("/", 1)[-1]: v for v in c.fig6_verdicts(_fig6_rows(changed), "smoke")}
    assert verdicts["standard_amplifies"].outcome == "inconclusive"
    assert verdicts["adv_suppresses"].outcome == "fails"


def _kspace_rows(drop_k=0.05, drop_s=0.10, generator_drop=0.02, clean_k=0.68, seed=0):
    """Per-slice Algorithm 2 rows: K and S (clean SSIM `clean_k`, 0.70) lose `drop_k`, `drop_s`
    under k-space PGD and `generator_drop` under a fresh generator; zero-filled scores 0.5."""
    rng = np.random.default_rng(seed)
    zero_filled = 0.5 + rng.normal(0, 0.02, SLICES)
    rows = []
    for model, clean, drop in (("K", clean_k, drop_k), ("S", 0.70, drop_s)):
        clean = clean + rng.normal(0, 0.005, SLICES)
        for attack, loss in (("kspace_pgd", drop), ("kspace_G", generator_drop)):
            attacked = clean - loss + rng.normal(0, 0.005, SLICES)
            rows += [
                {
                    "eta_model": "K(eta=0.02)",
                    "attack": attack,
                    "model": model,
                    "slice": i,
                    "ssim_clean": clean[i],
                    "ssim_attacked": attacked[i],
                    "ssim_zero_filled": zero_filled[i],
                }
                for i in range(SLICES)
            ]
    return e._attack_table(rows)


def test_algorithm_2_claims_are_beyond_the_paper_and_follow_the_numbers():
    verdicts = c.kspace_verdicts(_kspace_rows(), "smoke")
    assert {v.kind for v in verdicts} == {"beyond"}
    assert _outcomes(verdicts) == {
        ("alg2/kspace_pgd_at_eta_train", "K(eta=0.02)"): "holds",
        ("alg2/reasonable_quality", "K(eta=0.02)"): "holds",
        ("alg2/pgd_stronger_than_generator", "K(eta=0.02)", "K"): "holds",
        ("alg2/pgd_stronger_than_generator", "K(eta=0.02)", "S"): "holds",
    }
    quality = next(v for v in verdicts if v.id.endswith("reasonable_quality"))
    assert quality.evidence["cost_S_minus_K"] == pytest.approx(0.02, abs=0.005)
    worse = c.kspace_verdicts(_kspace_rows(0.2, 0.1, 0.3, clean_k=0.45), "smoke")
    assert set(_outcomes(worse).values()) == {"fails"}


def test_fig4_claims_compare_the_single_training_log_exactly():
    losses = {"loss_R": np.linspace(1.0, 0.5, 20), "loss_G": [3e5] + [-0.3] * 19}
    log = pd.DataFrame({"model": "A(eps=1000)", **losses})
    other = log.assign(model="A(eps=5000)", loss_R=1.0, loss_G=1e6)  # another model's log
    both = pd.concat([log, other], ignore_index=True)
    assert c.LOSS_R_DECREASES.check(iterations=both, model="A(eps=1000)")[0]
    assert c.LOSS_G_STARTS_LARGE.check(iterations=both, model="A(eps=1000)")[0]
    spiked = log.assign(loss_G=[3e5] + [-0.3] * 10 + [4e5] + [-0.3] * 8)
    assert not c.LOSS_G_STARTS_LARGE.check(iterations=spiked, model="A(eps=1000)")[0]


def test_claims_that_cannot_be_evaluated_raise():
    with pytest.raises(ValueError, match="at least 10 iterations"):
        log = pd.DataFrame({"model": "A(eps=1000)", "loss_R": [1.0, 0.5]})
        c.LOSS_R_DECREASES.check(iterations=log, model="A(eps=1000)")
    with pytest.raises(ValueError, match="no rows with"):
        rows = _fig6_rows({("own_G", "A"): (0.5, 0.1, 1.0)})
        c.ADV_BETTER_UNDER_ITS_G.check(table=rows, model="A(eps=1000)")


def _cross_rows():
    """Per-slice cross-attack rows: S, A and K under one attack at budgets 0 and 0.01."""
    rng = np.random.default_rng(0)
    rows = []
    for budget in (0.0, 0.01):
        for model, drop in (("S", 0.2), ("A(eps=1000)", 0.1), ("K(eta=0.02)", 0.2)):
            clean = 0.7 + rng.normal(0, 0.01, SLICES)
            attacked = clean - (drop * budget / 0.01 + rng.normal(0, 0.01, SLICES)) * (budget > 0)
            rows += [
                {
                    "model": model,
                    "attack": "kspace_pgd",
                    "scored_on": "region",
                    "budget": budget,
                    "slice": i,
                    "ssim_clean": clean[i],
                    "ssim_attacked": attacked[i],
                }
                for i in range(SLICES)
            ]
    return e._attack_table(rows)


def test_cross_attacks_are_measurements_with_intervals_not_verdicts():
    table = _cross_rows()
    summary = e.cross_summary(table).set_index(["budget", "model"])
    assert len(summary) == 2 * 3 and (summary.n == SLICES).all()
    assert summary.loc[(0.01, "S"), ["ssim_drop_minus_S", "ssim_attacked_minus_S"]].isna().all()
    row = summary.loc[(0.01, "A(eps=1000)")]
    wide = table[table.budget == 0.01].pivot(index="slice", columns="model", values="ssim_drop")
    assert row.ssim_drop_minus_S == pytest.approx((wide["A(eps=1000)"] - wide["S"]).mean())
    assert row.ssim_drop_minus_S_high < 0  # a smaller drop than S, outside the noise
    k = summary.loc[(0.01, "K(eta=0.02)")]
    assert k.ssim_drop_minus_S_low < 0 < k.ssim_drop_minus_S_high
    assert row.ssim_drop_low < row.ssim_drop < row.ssim_drop_high
    with pytest.raises(ValueError, match="needs S and every model on the same slices"):
        e.cross_summary(table.drop(index=table.index[(table.model == "S")][:1]))
    assert not hasattr(c, "cross_verdicts")


def test_cross_attack_panels_name_their_attack_and_budget():
    table = _cross_rows()
    fig = figures.cross_attacks(pd.concat([table, table.assign(attack="rotation")]), "smoke")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Morshuis k-space PGD (box)", "Morshuis rotation (box)"]
    assert fig.axes[1].get_xlabel() == "θ_max (degrees)"


def test_fig6_example_slices_outside_the_attacked_ones_are_a_clear_error(smoke_root):
    ev = EVALUATE.resolve("smoke", {"example_slices": [7]})
    trained = {"S": e.Trained(e.model_specs("smoke")["S"], None, None, {})}
    with pytest.raises(ValueError, match=r"example_slices \[7\] must lie in 0\.\.3"):
        e.fig6(trained, "smoke", ev)
