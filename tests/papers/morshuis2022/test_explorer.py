import matplotlib
import pytest
import torch

from mrirobust import attacks, metrics
from mrirobust.data.samples import annotated_samples, stack
from mrirobust.models import ZeroFilled
from mrirobust.papers.morshuis2022 import profile
from mrirobust.papers.morshuis2022.experiments import pgd_settings
from mrirobust.papers.morshuis2022.explorer import AttackExplorer

PNG = b"\x89PNG\r\n\x1a\n"

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def explorer():
    samples = annotated_samples("smoke", max_samples=2)
    size = tuple(samples[0].load().target.shape)
    calls = []

    def get_model(method, acceleration):
        calls.append((method, acceleration))
        return ZeroFilled(size)

    attack = profile.attack("smoke")
    ex = AttackExplorer(samples, ["zero_filled"], [4, 8], get_model, attack, "smoke")
    ex.model_calls = calls
    return ex


def test_eta_slider_degrades_the_region_and_reuses_the_cached_attack(explorer):
    explorer.widget()
    etas = profile.attack("smoke")["eta_grid"]
    explorer.eta.value = etas[0]
    clean = explorer.view()
    assert clean.ssim_attacked == pytest.approx(clean.ssim_clean, abs=1e-5)
    cached = len(explorer._cache)
    explorer.eta.value = etas[-1]
    strong = explorer.view()
    assert len(explorer._cache) == cached  # η moves within the cached grid
    assert strong.ssim_attacked < clean.ssim_clean
    assert strong.perturbation.abs().sum() > 0
    assert "region SSIM" in explorer.status.value
    assert bytes(explorer.image.value).startswith(PNG)


def test_theta_and_acceleration_trigger_new_attacks_and_models(explorer):
    cached = len(explorer._cache)
    explorer.theta.value = explorer.theta.options[-1][1]
    explorer.acceleration.value = 8
    assert len(explorer._cache) > cached
    assert ("zero_filled", 8) in explorer.model_calls
    view = explorer.view()
    assert view.attacked.shape == view.target.shape
    assert torch.isfinite(view.attacked).all()


def test_explorer_needs_samples():
    with pytest.raises(ValueError, match="at least one"):
        AttackExplorer([], ["unet"], [4], None, profile.attack("smoke"), "smoke")


def test_the_view_at_a_rotation_is_the_rotated_attack_scored_on_the_unrotated_box(explorer):
    explorer.eta.value = explorer.attack["eta_grid"][-1]
    view = explorer.view()
    sample = explorer.samples[explorer.sample.value]
    kspace, mask, target, boxes = stack(
        [sample], explorer.acceleration.value, explorer.attack["seed"]
    )
    result = attacks.rotated_pgd(
        ZeroFilled(tuple(target.shape[-2:])),
        kspace,
        mask,
        target,
        angle=explorer.theta.value,
        eta=list(explorer.attack["eta_grid"]),
        region=boxes,
        **pgd_settings(explorer.attack),
    )
    attacked = result.reconstruction[-1]  # the strongest eta, (1, h, w)
    torch.testing.assert_close(view.attacked, attacked[0])
    ssim = metrics.ssim(target, attacked, region=sample.box)
    assert view.ssim_attacked == pytest.approx(float(ssim), abs=1e-6)
