import pytest
import torch

from mrirobust import physics
from mrirobust.attacks import pgd_global, two_step
from mrirobust.models import ConvDecoder, L1Wavelet


def _y(data):
    return physics.apply_mask(data["kspace"], data["mask"])


def test_two_step_stays_in_budget_and_damages_more_than_random(toy_untrained, data):
    y, mask = _y(data), data["mask"]
    res = two_step(toy_untrained, y, mask, eps=[0.0, 0.05], beta=5.0, steps=15, progress=False)
    assert res.perturbation.shape == (2, *y.shape)
    assert res.losses.shape == (15, 2, 2)
    norms = torch.linalg.vector_norm(res.perturbation, dim=(2, 3, 4))
    budget = torch.tensor([0.0, 0.05]).view(2, 1) * torch.linalg.vector_norm(y, dim=(1, 2, 3))
    assert (norms <= budget * (1 + 1e-5)).all()
    assert res.perturbation[..., ~mask.flatten()].abs().max() == 0
    torch.testing.assert_close(res.reconstruction[0], res.clean)  # eps = 0: unchanged
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(y.shape, generator=g, dtype=y.dtype) * mask
    noise = noise / torch.linalg.vector_norm(noise, dim=(1, 2, 3), keepdim=True)
    noise = noise * norms[1].view(-1, 1, 1, 1)
    random_error = ((toy_untrained(y + noise, mask) - res.clean) ** 2).mean(dim=(-2, -1))
    assert (res.error[1] > 2 * random_error).all()


def test_two_step_is_seeded_and_checks_its_input(toy_untrained, zero_filled, data):
    y, mask = _y(data), data["mask"]
    toy_untrained.iterations = 10
    a = two_step(toy_untrained, y, mask, eps=0.05, beta=1.0, steps=3, progress=False)
    b = two_step(toy_untrained, y, mask, eps=0.05, beta=1.0, steps=3, progress=False)
    assert torch.equal(a.perturbation, b.perturbation)
    with pytest.raises(ValueError, match="lacks init_state, objective, render, optimiser"):
        two_step(zero_filled, y, mask, eps=0.05, beta=1.0, steps=3, progress=False)
    with pytest.raises(ValueError, match="eps must be"):
        two_step(toy_untrained, y, mask, eps=-1.0, beta=1.0, steps=3, progress=False)
    with pytest.raises(ValueError, match=r"eps is relative .* \[0, 1\]"):
        two_step(toy_untrained, y, mask, eps=1.5, beta=1.0, steps=3, progress=False)
    for beta in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
            two_step(toy_untrained, y, mask, eps=0.05, beta=beta, steps=3, progress=False)
    with pytest.raises(ValueError, match="warmup_steps must be an integer >= 0"):
        two_step(toy_untrained, y, mask, eps=0.05, beta=1.0, steps=3, warmup_steps=-1)
    with pytest.raises(ValueError, match=r"anchor must be a real tensor of shape \(2, 24, 24\)"):
        two_step(toy_untrained, y, mask, eps=0.05, beta=1.0, steps=3, anchor=data["target"][:1])


def _methods():
    return {
        "l1": L1Wavelet((24, 24), lam=1e-3, iterations=20),
        "convdecoder": ConvDecoder((24, 24), num_layers=3, channels=8, iterations=10),
    }


@pytest.mark.parametrize("name", ["l1", "convdecoder"])
def test_two_step_is_invariant_to_the_data_scale(name, data):
    """beta weighs dimensionless terms and every step is taken in the method's own units, so
    scaling the data by 1000 scales the perturbation by 1000 and leaves J unchanged (an Adam
    learning rate on l1's image, or a beta term outside ConvDecoder's scaled units, is not)."""
    y, mask = _y(data), data["mask"]
    kwargs = {"eps": 0.05, "beta": 0.3, "steps": 4, "warmup_steps": 2, "progress": False}
    method = _methods()[name]
    small = two_step(method, 1e-3 * y, mask, **kwargs)
    large = two_step(method, y, mask, **kwargs)
    torch.testing.assert_close(large.losses, small.losses, rtol=1e-3, atol=1e-4)
    difference = torch.linalg.vector_norm(large.perturbation - 1e3 * small.perturbation)
    assert difference < 1e-3 * torch.linalg.vector_norm(large.perturbation)


def test_two_step_on_convdecoder_refits_the_same_network(data):
    """eps = 0 leaves y unchanged, so step 2 must reproduce the clean fit exactly, though the
    attacked fits run as a batch of E * B slices."""
    y, mask = _y(data), data["mask"]
    method = _methods()["convdecoder"]
    res = two_step(method, y, mask, eps=[0.0, 0.05], beta=0.3, steps=2, progress=False)
    torch.testing.assert_close(res.reconstruction[0], res.clean)
    assert (res.error[1] > 0).all()


def test_warm_up_fits_the_clean_measurement_first(data):
    """With beta = 0 and eps = 0 the joint steps continue the method's own fit: J starts at 1
    (the loss at the initial state) without warm-up and far below it after 10 warm-up steps."""
    y, mask = _y(data), data["mask"]
    method = _methods()["l1"]
    kwargs = {"eps": 0.0, "beta": 0.0, "steps": 3, "progress": False}
    cold = two_step(method, y, mask, **kwargs)
    warm = two_step(method, y, mask, warmup_steps=10, **kwargs)
    torch.testing.assert_close(cold.losses[0], torch.ones(2))
    assert (warm.losses[0] < 0.2).all()
    assert (warm.losses.diff(dim=0) <= 1e-6).all()


def test_two_step_on_l1_damages_more_than_random_noise(data):
    y, mask = _y(data), data["mask"]
    method = _methods()["l1"]
    res = two_step(method, y, mask, eps=0.05, beta=0.1, steps=10, warmup_steps=5, progress=False)
    norms = torch.linalg.vector_norm(res.perturbation, dim=(1, 2, 3))
    budget = 0.05 * torch.linalg.vector_norm(y, dim=(1, 2, 3))
    assert (norms <= budget * (1 + 1e-5)).all() and (norms >= 0.99 * budget).all()
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(y.shape, generator=g, dtype=y.dtype) * mask
    noise = noise / torch.linalg.vector_norm(noise, dim=(1, 2, 3), keepdim=True)
    random_error = ((method(y + noise * norms.view(-1, 1, 1, 1), mask) - res.clean) ** 2).mean(
        dim=(-2, -1)
    )
    assert (res.error > 3 * random_error).all()


def test_pgd_global_also_runs_on_the_untrained_method(toy_untrained, data):
    """Every attack runs on every Reconstructor: here by differentiating through the fit."""
    y, mask = _y(data), data["mask"]
    toy_untrained.iterations = 5
    res = pgd_global(toy_untrained, y, mask, eps=0.05, steps=2, progress=False)
    assert res.losses.shape == (3, 2)
    assert torch.isfinite(res.losses).all()
