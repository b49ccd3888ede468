import matplotlib
import pytest
import torch

from mrirobust import data, scales
from mrirobust.models import ZeroFilled
from mrirobust.papers import morshuis2022 as m
from mrirobust.widgets import AttackExplorer, VolumeBrowser

PNG = b"\x89PNG\r\n\x1a\n"

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def explorer():
    samples = m.annotated_samples("smoke", max_samples=2)
    size = tuple(samples[0].target.shape)
    calls = []

    def get_model(method, acceleration):
        calls.append((method, acceleration))
        return ZeroFilled(size)

    attack = scales.resolve("smoke", "attack")
    ex = AttackExplorer(samples, ["zero_filled"], [4, 8], get_model, attack, "smoke")
    ex.model_calls = calls
    return ex


def test_eta_slider_degrades_the_region_and_reuses_the_cached_attack(explorer):
    explorer.widget()
    etas = scales.resolve("smoke", "attack")["eta_grid"]
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
        AttackExplorer([], ["unet"], [4], None, scales.resolve("smoke", "attack"), "smoke")


def test_volume_browser_follows_the_sliders_and_draws_pngs():
    boxes = {
        "knee": data.scale_annotations("smoke", "knee"),
        "brain": data.scale_annotations("smoke", "brain"),
    }
    browser = VolumeBrowser(
        "smoke", [("knee", "val"), ("brain", "val"), ("knee_shifted", "train")], boxes
    )
    assert browser.dataset.options == ("knee/val", "brain/val")  # missing sets are left out
    browser.widget()
    first = bytes(browser.image.value)
    assert first.startswith(PNG)
    browser.slice.value = browser.slice.max
    shown = browser.update()
    assert shown.index == browser.slice.max and bytes(browser.image.value) != first
    browser.dataset.value = "brain/val"
    assert browser.update().fname.startswith("file_brain")
    with pytest.raises(ValueError, match="no data sets"):
        VolumeBrowser("smoke", [("knee_shifted", "train")], boxes)
