"""Morshuis et al. 2022 in the explorer: its views are the paper's attacks (`experiments.box_pgd`,
`attacks.rotation_search`) on the box, scored by region SSIM, also on a second model."""

import copy

import matplotlib
import pytest
import torch

from mrirobust import attacks, metrics, papers, physics, standin
from mrirobust.data.samples import sample_mask
from mrirobust.explorer import Catalog, Explorer, ModelEntry, Selection
from mrirobust.models import ZeroFilled, registry
from mrirobust.papers.morshuis2022 import experiments, explorer, profile

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def knee():
    """The Morshuis attacks on two smoke boxes, with zero-filling at 4x and 8x as the models
    (differentiable and untrained: the attacks are what is tested)."""
    catalog = Catalog("smoke")
    explorer.register(catalog, samples=2, methods=())
    domain = catalog.domains["fastmri_knee"]
    size = tuple(domain.load(next(iter(domain.samples()))).target.shape)
    for acceleration in (4, 8):
        catalog.add(
            ModelEntry(
                f"zero_filled_{acceleration}x",
                f"zero-filled {acceleration}x",
                "test",
                domain.id,
                lambda: ZeroFilled(size),
                tags=frozenset({"differentiable"}),
                acceleration=acceleration,
            )
        )
    return Explorer(catalog), domain


def test_the_box_pgd_view_is_the_papers_attack_scored_on_the_box(knee):
    ex, domain = knee
    sample = next(iter(domain.samples()))
    attack = ex.catalog.attacks["morshuis2022/box_pgd"]
    eta = attack.strengths[-1]
    view = ex.view(Selection("zero_filled_4x", attack.id, eta, sample, second="zero_filled_8x"))
    data = domain.load(sample)
    kspace, mask, target, box = domain.batch(data, 4)
    result = experiments.box_pgd(
        ZeroFilled(tuple(data.target.shape)),
        kspace,
        mask,
        target,
        box,
        eta=eta,
        mode="region",
        attack=profile.attack("smoke"),
    )
    first, second = view.rows
    torch.testing.assert_close(first.attacked, result.reconstruction[0])
    region = metrics.region_scores(target, result.reconstruction, box)
    assert first.attacked_scores["region SSIM"] == pytest.approx(float(region["ssim_region"]))
    assert first.attacked_scores["region SSIM"] < first.clean_scores["region SSIM"]
    # the 8x model sees the same perturbed k-space under its own mask
    mask8 = sample_mask(data.sample, 8)
    expected = ZeroFilled(tuple(data.target.shape))(
        physics.apply_mask(kspace + result.perturbation, mask8), mask8
    )
    torch.testing.assert_close(second.attacked, expected[0])
    clean = ex.view(Selection("zero_filled_4x", attack.id, 0.0, sample))
    assert clean.rows[0].attacked_scores == clean.rows[0].clean_scores
    assert eta == max(profile.attack("smoke")["eta_grid"]) and len(attack.strengths) >= 5


def test_the_rotation_view_rotates_by_the_worst_angle_within_theta_max(knee):
    ex, domain = knee
    sample = list(domain.samples())[1]
    attack = ex.catalog.attacks["morshuis2022/rotation"]
    theta = attack.strengths[-1]
    view = ex.view(Selection("zero_filled_4x", attack.id, theta, sample))
    data = domain.load(sample)
    kspace, mask, target, box = domain.batch(data, 4)
    settings = profile.attack("smoke")
    grid = attacks.angle_grid(settings["angle_max"], settings["angle_step"])
    model = ZeroFilled(tuple(data.target.shape))
    search = attacks.rotation_search(model, kspace, mask, target, angles=grid, region=box)
    angle = float(search.worst(theta)[0][0])
    assert f"worst angle {angle:+g}°" in view.note
    rotated = physics.rotate_kspace(kspace, angle)
    expected = physics.rotate(model(physics.apply_mask(rotated, mask), mask), -angle)
    torch.testing.assert_close(view.rows[0].attacked, expected[0])


def _explorer_of(net, catalog: Catalog) -> Explorer:
    """`catalog`'s knee domain and attacks with `net` as its one model."""
    found = Catalog("smoke", domains=dict(catalog.domains), attacks=dict(catalog.attacks))
    found.models["net"] = ModelEntry(
        "net", "net", "test", "fastmri_knee", lambda: net, tags=frozenset({"differentiable"})
    )
    return Explorer(found)


@pytest.mark.parametrize("attack", ["morshuis2022/box_pgd", "morshuis2022/rotation"])
def test_views_of_a_model_on_an_accelerator_equal_those_on_the_cpu(knee, attack):
    """The stand-in device raises where a GPU would (CPU and device tensors mixed)."""
    ex, domain = knee
    sample = next(iter(domain.samples()))
    strength = ex.catalog.attacks[attack].strengths[-1]
    selection = Selection("net", attack, strength, sample)
    torch.manual_seed(0)
    size = tuple(domain.load(sample).target.shape)
    unet = registry.build(papers.model_spec("unet", "smoke", 4), size).eval()
    on_cpu = _explorer_of(unet, ex.catalog).view(selection)
    with standin.active() as device:
        on_device = _explorer_of(copy.deepcopy(unet).to(device), ex.catalog).view(selection)
    (cpu_row,), (device_row,) = on_cpu.rows, on_device.rows
    assert device_row.attacked.device.type == "cpu"
    torch.testing.assert_close(device_row.attacked, cpu_row.attacked, atol=1e-4, rtol=1e-4)
    for name, value in cpu_row.attacked_scores.items():
        assert device_row.attacked_scores[name] == pytest.approx(value, abs=1e-4)
