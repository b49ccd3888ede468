"""What the Huang & Liang notebooks stored in the session's smoke run (tests/conftest.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from mrirobust import claims, metrics, tables
from mrirobust.papers.huang_liang import claims as paper_claims
from mrirobust.papers.huang_liang import experiments as e
from mrirobust.papers.huang_liang.profile import EVALUATE

pytestmark = pytest.mark.notebook
MODELS = {"S", "A(eps=1000)", "A(eps=5000)"}


def assert_stored(out, expected):
    """The run's claims.json holds the verdicts recomputed from its stored tables."""
    stored = claims.load(out / "claims.json")
    assert [(v.id, v.kind, v.case, v.outcome, v.evidence) for v in stored] == [
        (v.id, v.kind, v.case, v.outcome, v.evidence) for v in expected
    ]
    return stored


def check_training_run(out):
    curves = pd.read_csv(out / "training_curves.csv")
    assert set(curves.model) == MODELS and (curves.groupby("model").epoch.max() == 2).all()
    iterations = pd.read_csv(out / "iterations.csv")
    adversarial = iterations[iterations.model != "S"]
    assert adversarial[["loss_G", "loss_R", "hinge", "budget_use"]].notna().all().all()
    assert iterations[iterations.model == "S"].loss_G.isna().all()
    # the logged loss_R is the clean plus the perturbed DSSIM
    np.testing.assert_allclose(
        adversarial.loss_R, adversarial.dssim_clean + adversarial.dssim_pert, rtol=1e-5
    )
    expected = paper_claims.training_verdicts(
        tables.load_table(out, "training_curves"), tables.load_table(out, "iterations"), "smoke"
    )
    ids = {v.id for v in assert_stored(out, expected)}
    assert {"huang_liang/fig4/loss_R_decreases", "huang_liang/sanity/eps_monotone"} <= ids


def check_table1_run(out):
    table = pd.read_csv(out / "table1.csv")
    assert set(table.model) == MODELS | {"zero-filled"}
    assert len(table) == 4 * 2 * 2  # models x splits x rules
    fastmri = table[table.rule == "fastmri"]
    assert fastmri.ssim.between(-1, 1).all() and (fastmri.nmse > 0).all()
    stats = json.loads((out / "mask_stats.json").read_text())
    assert stats["centre_always_sampled"]
    images = np.load(out / "fig5_images.npz")
    assert set(images.files) == {"kspace", "image", "masked", "zero_filled", "mask"}
    unsampled = ~images["mask"].astype(bool)
    assert (images["masked"][:, unsampled] == 0).all()
    slices = tables.load_table(out, "table1_slices")
    # one row per slice of each split, for every model and rule
    counts = slices.groupby(["model", "split", "rule"]).slice.nunique().rename("slices")
    expected = table.set_index(["model", "split", "rule"]).slices
    pd.testing.assert_series_equal(counts.sort_index(), expected.sort_index())
    # Table 1's NMSE comparison on the training-length control's S and A(eps_1), trained longer
    control = tables.load_table(out, "control_slices")
    epochs = EVALUATE.resolve("smoke")["control_epochs"]
    assert set(control.model) == {"zero-filled", "S", "A(eps=1000)"}
    assert set(control.epochs) == {epochs}
    expected = paper_claims.table1_verdicts(slices, stats, "smoke")
    expected += paper_claims.control_verdicts(control, "smoke")
    verdicts = assert_stored(out, expected)
    (checked,) = [v for v in verdicts if "epochs" in v.case]
    assert checked.id == "huang_liang/table1/nmse_A_eps1_lt_S" and checked.case["epochs"] == epochs
    rules = {v.case.get("rule") for v in verdicts if v.figure == "table1"}
    assert rules == {"fastmri", "reference"}
    assert all(v.evidence.get("n", 2) > 1 for v in verdicts if v.figure == "table1")


def test_training_run_stored_the_logs_of_three_models(smoke_results):
    check_training_run(smoke_results.ok("huang_liang_train"))


def test_table1_run_stored_both_rules_and_the_mask_statistics(smoke_results):
    check_table1_run(smoke_results.ok("huang_liang_table1_fig5"))


def check_fig6_run(out):
    table = pd.read_csv(out / "perturbed_scores.csv")
    assert set(table.attack) == {"co_trained_G", "own_G", "image_pgd"}
    assert set(table.model) == {"A", "S"} and set(table.eps_model) == MODELS - {"S"}
    # PGD sits on its sphere; the generators' perturbations are not zero after calibration
    pgd = table[table.attack == "image_pgd"]
    np.testing.assert_allclose(pgd.delta_sq_over_eps, 1.0, rtol=1e-3)
    assert (table[table.attack != "image_pgd"].delta_sq_over_eps > 0.1).all()
    # the co-trained perturbation is the same for both models: one delta per slice
    co = table[table.attack == "co_trained_G"].pivot_table(
        index=["eps_model", "slice"], columns="model", values="delta_sq_over_eps"
    )
    np.testing.assert_allclose(co["A"], co["S"], rtol=1e-5)
    images = np.load(out / "fig6_images.npz")
    assert any(key.endswith("/S_own_G") for key in images.files)
    expected = paper_claims.fig6_verdicts(tables.load_table(out, "perturbed_scores"), "smoke")
    ids = {v.id for v in assert_stored(out, expected)}
    assert {"huang_liang/robust/own_G", "huang_liang/fig6/standard_amplifies"} <= ids


def test_fig6_run_stored_the_paper_and_the_fair_attacks(smoke_results):
    check_fig6_run(smoke_results.ok("huang_liang_fig6"))


def check_alg2_run(out):
    table = pd.read_csv(out / "kspace_attacks.csv")
    assert set(table.attack) == {"kspace_pgd", "kspace_G"} and set(table.model) == {"K", "S"}
    assert set(table.eta_model) == {"K(eta=0.02)"}
    assert table.ssim_attacked.between(-1, 1).all()
    curves = pd.read_csv(out / "training_curves.csv")
    assert set(curves.model) == {"S", "K(eta=0.02)"}
    k_curve = curves[curves.model == "K(eta=0.02)"]
    assert (k_curve.train_budget_use <= 1 + 1e-5).all()  # projected onto the per-coil ball
    assert table.ssim_zero_filled.between(-1, 1).all()
    expected = paper_claims.kspace_verdicts(tables.load_table(out, "kspace_attacks"), "smoke")
    verdicts = assert_stored(out, expected)
    assert "huang_liang/alg2/kspace_pgd_at_eta_train" in {v.id for v in verdicts}
    assert {v.kind for v in verdicts} == {"beyond"}  # Algorithm 2 is not run in the paper


def test_alg2_run_stored_k_space_attacks_on_k_and_s(smoke_results):
    check_alg2_run(smoke_results.ok("huang_liang_alg2"))


def check_cross_run(out):
    table = pd.read_csv(out / "cross_attacks.csv")
    attacks = {"kspace_pgd", "pgd", "image_pgd", "rotation"}
    assert set(table.attack) == attacks
    assert set(table.model) == MODELS | {"K(eta=0.02)"}
    morshuis = table.attack.isin(["kspace_pgd", "rotation"])  # they target the box
    assert (table[morshuis].scored_on == "region").all()
    assert (table[~morshuis].scored_on == "image").all()
    assert (table.data_range == metrics.DEFAULT_DATA_RANGE).all()
    # budget 0 is the clean reconstruction (a 0-degree rotation still interpolates, ~0.6 %)
    zero = table[(table.budget == 0) & (table.attack != "rotation")]
    np.testing.assert_allclose(zero.ssim_attacked, zero.ssim_clean, atol=1e-4)
    # no expected direction: measurements with intervals, no verdicts
    assert not (out / "claims.json").exists()
    summary = tables.load_table(out, "summary")
    groups = table.groupby(["attack", "budget", "model"]).ngroups
    assert len(summary) == groups and set(summary.attack) == attacks
    expected = e.cross_summary(tables.load_table(out, "cross_attacks"))
    pd.testing.assert_frame_equal(summary, expected, check_exact=False, rtol=1e-9)
    others = summary[summary.model != "S"]
    assert others.ssim_drop_minus_S.notna().all()
    assert (others.ssim_drop_minus_S_low <= others.ssim_drop_minus_S_high).all()


def test_cross_attack_run_scored_every_model_under_every_attack(smoke_results):
    check_cross_run(smoke_results.ok("huang_liang_cross_attacks"))
