import pytest
import torch

from mrirobust import physics
from mrirobust.attacks import pgd_global, two_step


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
    with pytest.raises(ValueError, match="lacks init_state"):
        two_step(zero_filled, y, mask, eps=0.05, beta=1.0, steps=3, progress=False)
    with pytest.raises(ValueError, match="eps must be"):
        two_step(toy_untrained, y, mask, eps=-1.0, beta=1.0, steps=3, progress=False)


def test_pgd_global_also_runs_on_the_untrained_method(toy_untrained, data):
    """Every attack runs on every Reconstructor: here by differentiating through the fit."""
    y, mask = _y(data), data["mask"]
    toy_untrained.iterations = 5
    res = pgd_global(toy_untrained, y, mask, eps=0.05, steps=2, progress=False)
    assert res.losses.shape == (3, 2)
    assert torch.isfinite(res.losses).all()
