"""Darestani et al. 2021 in the explorer: PGD and the two-step attack are the paper's
(`experiments.own_attack`), the small feature is inserted in the box and scored by the window
error, and each attack refuses the methods it does not apply to."""

import matplotlib
import pytest
import torch

from mrirobust import physics
from mrirobust.explorer import Catalog, Explorer, ModelEntry, Selection, Unavailable
from mrirobust.models import ZeroFilled
from mrirobust.models.l1 import L1Wavelet
from mrirobust.papers.darestani2021 import experiments, explorer
from mrirobust.papers.darestani2021.profile import ATTACK

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def knee():
    """Darestani's attacks on two smoke boxes, with zero-filling (a "network") and a 3-step
    l1 (un-trained) standing in for the trained and tuned models."""
    catalog = Catalog("smoke")
    explorer.register(catalog, samples=2)
    domain = catalog.domains["fastmri_knee"]
    size = tuple(domain.load(next(iter(domain.samples()))).target.shape)
    catalog.add(
        ModelEntry(
            "zero_filled",
            "zero-filled",
            "test",
            domain.id,
            lambda: ZeroFilled(size),
            tags=frozenset({"network"}),
        ),
        ModelEntry(
            "l1",
            "l1",
            "test",
            domain.id,
            lambda: L1Wavelet(size, lam=0.01, iterations=3),
            tags=frozenset({"untrained"}),
        ),
    )
    return Explorer(catalog), domain


@pytest.mark.parametrize(("model", "attack"), [("zero_filled", "pgd"), ("l1", "two_step")])
def test_pgd_and_two_step_views_are_the_papers_own_attack(knee, model, attack):
    ex, domain = knee
    sample = next(iter(domain.samples()))
    eps = ex.catalog.attacks[f"darestani2021/{attack}"].strengths[-1]
    view = ex.view(Selection(model, f"darestani2021/{attack}", eps, sample, second="zero_filled"))
    kspace, mask, target, _ = domain.batch(domain.load(sample), 4)
    y = physics.apply_mask(kspace, mask)
    z, out = experiments.own_attack(
        ex.model(model), y, mask, eps=[eps], attack=ATTACK.resolve("smoke")
    )
    first = view.rows[0]
    torch.testing.assert_close(first.attacked, out[0, 0].cpu())
    expected = experiments.scores(target, out[0].cpu())
    assert first.attacked_scores["SSIM"] == pytest.approx(float(expected["ssim"]))
    shown = ZeroFilled(tuple(target.shape[-2:]))(physics.apply_mask(kspace + z[0], mask), mask)
    torch.testing.assert_close(view.rows[-1].attacked, shown[0])


def test_the_small_feature_is_inserted_in_the_box_and_scored_there(knee):
    ex, domain = knee
    sample = next(iter(domain.samples()))
    attack = ex.catalog.attacks["darestani2021/small_feature"]
    assert attack.strengths == (2.0, 3.0, 4.0, 5.0)  # the paper's sides at every scale
    view = ex.view(Selection("zero_filled", attack.id, 4.0, sample))
    data = domain.load(sample)
    inside = explorer.window(data, 4)
    assert view.region.equal(inside) and inside.sum() == 16
    x, y, w, h = data.box.tolist()
    rows, cols = inside.nonzero().T
    assert (
        abs(rows.float().mean() - (y + h / 2)) <= 1 and abs(cols.float().mean() - (x + w / 2)) <= 1
    )
    # "replace": the featured target's window holds the target's maximum
    torch.testing.assert_close(
        view.attacked_target[inside], torch.full((16,), float(data.target.max()))
    )
    (row,) = view.rows
    assert row.attacked_scores["feature error"] > row.clean_scores["feature error"]


@pytest.mark.parametrize(
    ("model", "attack", "words"),
    [
        ("l1", "pgd", "applies to trained networks"),
        ("zero_filled", "two_step", "applies to un-trained methods"),
        ("darestani2021/tv", "pgd", "not to total variation"),
    ],
)
def test_attacks_refuse_the_methods_they_do_not_apply_to(knee, model, attack, words):
    ex, domain = knee
    sample = next(iter(domain.samples()))
    with pytest.raises(Unavailable, match=words):
        ex.check(Selection(model, f"darestani2021/{attack}", 0.0, sample))
