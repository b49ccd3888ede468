"""The attack suite runs each attack as its own function does and scores it one way."""

import pytest
import torch

from mrirobust import metrics, physics
from mrirobust.attacks import kspace_pgd, pgd_global, rotation_search, suite, two_step

BOX = torch.tensor([4, 6, 10, 8])
ANGLES = [-2.0, -1.0, 0.0, 1.0, 2.0]


def _run(model, data, budgets, **kwargs):
    args = (model, data["kspace"], data["mask"], data["target"], budgets)
    return suite.every_attack(*args, angles=ANGLES, steps=2, seed=3, **kwargs)


def _rows(table, attack, budget):
    rows = table[(table.attack == attack) & (table.budget == budget)]
    return torch.tensor(rows.sort_values("slice").ssim_attacked.to_numpy(), dtype=torch.float32)


def test_each_attack_is_scored_as_its_own_function_reconstructs(trained_cnn, data):
    budgets = {"pgd": [0.0, 0.05], "kspace_pgd": [0.05], "rotation": [1.0, 2.0]}
    table = _run(trained_cnn, data, budgets, region=BOX)
    kspace, mask, target = data["kspace"], data["mask"], data["target"]
    assert len(table) == 5 * len(target)
    assert (table.data_range == metrics.DEFAULT_DATA_RANGE).all()
    on = table.groupby("attack").scored_on.unique().map(list).to_dict()
    assert on == {"pgd": ["image"], "kspace_pgd": ["region"], "rotation": ["region"]}
    y = physics.apply_mask(kspace, mask)
    pgd = pgd_global(trained_cnn, y, mask, eps=[0.0, 0.05], steps=2, seed=3, progress=False)
    for k, eps in enumerate([0.0, 0.05]):
        expected = metrics.ssim(target, pgd.reconstruction[k].detach())
        torch.testing.assert_close(_rows(table, "pgd", eps), expected)
    coil = kspace_pgd(
        trained_cnn, kspace, mask, target, eta=[0.05], region=BOX, steps=2, seed=3, progress=False
    )
    expected = metrics.ssim(target, coil.reconstruction[0].detach(), region=BOX)
    torch.testing.assert_close(_rows(table, "kspace_pgd", 0.05), expected)
    found = rotation_search(
        trained_cnn, kspace, mask, target, angles=ANGLES, region=BOX, progress=False
    )
    within = found.angles.abs() <= 1.0
    worst = found.losses[within].argmax(dim=0)
    expected = found.ssim[within][worst, torch.arange(len(target))]
    torch.testing.assert_close(_rows(table, "rotation", 1.0), expected)
    clean = table[table.attack == "pgd"].groupby("slice").ssim_clean.first()
    torch.testing.assert_close(
        _rows(table, "pgd", 0.0), torch.tensor(clean.to_numpy(), dtype=torch.float32)
    )
    assert (table.ssim_drop == table.ssim_clean - table.ssim_attacked).all()


def test_two_step_runs_on_methods_with_the_untrained_protocol(toy_untrained, data):
    settings = {"beta": 1.0, "steps": 2, "warmup_steps": 1}
    table = _run(toy_untrained, data, {"two_step": [0.05]}, two_step_settings=settings)
    y = physics.apply_mask(data["kspace"], data["mask"])
    result = two_step(
        toy_untrained, y, data["mask"], eps=[0.05], **settings, seed=3, progress=False
    )
    expected = metrics.ssim(data["target"], result.reconstruction[0].detach())
    torch.testing.assert_close(_rows(table, "two_step", 0.05), expected)


@pytest.mark.parametrize(
    ("budgets", "kwargs", "match"),
    [
        ({}, {}, "budgets must name attacks of"),
        ({"fgsm": [0.1]}, {}, r"budgets must name attacks of .*\['fgsm'\]"),
        ({"pgd": []}, {}, r"budgets\['pgd'\] must be budgets >= 0"),
        ({"pgd": [-0.1]}, {}, r"budgets\['pgd'\] must be budgets >= 0"),
        ({"rotation": [1.0]}, {"angles": [-1.0, 1.0]}, "angles must contain 0"),
        ({"two_step": [0.05]}, {}, "the two_step attack needs two_step_settings"),
    ],
)
def test_bad_budgets_are_refused_by_name(zero_filled, data, budgets, kwargs, match):
    args = (zero_filled, data["kspace"], data["mask"], data["target"], budgets)
    with pytest.raises(ValueError, match=match):
        suite.every_attack(*args, steps=1, **{"angles": ANGLES, **kwargs})
