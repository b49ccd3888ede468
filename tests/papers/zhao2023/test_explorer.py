"""Zhao et al. 2023 in the explorer, with zero-step series networks standing in for the trained
ones (the attacks are what is tested): a view is `robustness.perturbation` against the crafted
model, every shown model's map of the same perturbed k-space, scored by `map_errors`; a model
without a checkpoint is announced with the run that trains it, never trained."""

import dataclasses

import matplotlib
import pytest
import torch

from mrirobust.explorer import Catalog, Explorer, Selection, Unavailable, export
from mrirobust.models.qmri import UnrolledSeriesNet
from mrirobust.papers.zhao2023 import explorer, robustness
from mrirobust.papers.zhao2023.profile import ATTACK

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def maps(smoke_root, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_RESULTS", str(tmp_path_factory.mktemp("results")))
        catalog = Catalog("smoke")
        explorer.register(catalog, samples=1)
        announced = {m: e.missing() for m, e in catalog.models.items()}
        for model_id, entry in list(catalog.models.items()):
            torch.manual_seed(len(model_id))
            net = UnrolledSeriesNet(9, 0, 2, 1, 2, 1).eval()  # zero-filled with its coil maps
            catalog.models[model_id] = dataclasses.replace(
                entry, load=lambda net=net: net, missing=lambda: None
            )
        yield Explorer(catalog), catalog.domains["cmrxrecon_T1map"], announced


def test_missing_models_are_announced_with_the_run_that_trains_them(maps):
    _, _, announced = maps
    assert set(announced) == {
        f"zhao2023/{m}" for m in ("rvn_T1", "vn_T1", "vn_relax_T1", "vn_relax_T2")
    }
    for text in announced.values():
        assert "zhao2023_train" in text and "epoch(s)" in text and "mapper" in text


def test_the_map_attack_is_the_papers_perturbation_shown_on_both_models(maps):
    ex, domain, _ = maps
    attack = ex.catalog.attacks["zhao2023/map_T1"]
    eta = attack.strengths[-1]
    first, second = "zhao2023/vn_T1", "zhao2023/vn_relax_T1"
    view = ex.view(Selection(first, attack.id, eta, "0", second=second))
    case = domain.load("0")
    settings = ATTACK.resolve("smoke")
    z = robustness.perturbation(
        ex.model(first), case, "T1map", "map", eta, settings["steps"], settings["step_size"], 0
    )
    for row in view.rows:
        expected = domain.map_of(ex.model(row.model), case, z).float()
        torch.testing.assert_close(row.attacked, expected)
        errors = robustness.map_errors(expected.double() - case.reference, case.region)
        assert row.attacked_scores["map MAE (ms)"] == pytest.approx(errors["map_mae_ms"])
    crafted = view.rows[0]
    assert crafted.attacked_scores["map MAE (ms)"] > crafted.clean_scores["map MAE (ms)"]
    assert view.target.equal(case.reference.float()) and view.region.equal(case.region)
    assert "CMRxRecon" in export.caption(ex, view)  # the data named in exports
    weakest = ex.view(Selection(first, attack.id, 0.0, "0"))
    assert weakest.rows[0].attacked.equal(weakest.rows[0].clean)


def test_zhao_attacks_refuse_models_of_other_data(maps):
    ex, _, _ = maps
    with pytest.raises(Unavailable, match="unknown model"):
        ex.check(Selection("morshuis2022/unet_4x", "zhao2023/shift_T1", 0.0, "0"))
