import pytest
import torch

from mrirobust import metrics, physics
from mrirobust.attacks import kspace_pgd, pgd_global
from mrirobust.models.base import ZeroFilled

BOX = torch.tensor([6, 8, 8, 6])
ETAS = [0.0, 0.01, 0.025]


def _coil_norms(x):
    return torch.linalg.vector_norm(x, dim=(-2, -1))


def _box_loss(model, kspace, mask, target, z):
    with torch.no_grad():
        out = model(physics.apply_mask(kspace + z, mask), mask)
    return metrics.mse(target, out, BOX)


def test_exact_rule_respects_every_coil_budget_on_sampled_columns(trained_cnn, data):
    k, mask = data["kspace"], data["mask"]
    res = kspace_pgd(trained_cnn, k, mask, data["target"], eta=ETAS, region=BOX, progress=False)
    assert res.perturbation.shape == (3, *k.shape)
    assert res.losses.shape == (11, 3, 2)
    assert res.reconstruction.shape == (3, 2, 24, 24)
    budget = torch.tensor(ETAS).view(3, 1, 1) * _coil_norms(k)
    assert (_coil_norms(res.perturbation) <= budget * (1 + 1e-5)).all()
    assert (_coil_norms(res.perturbation[1:]) >= 0.99 * budget[1:]).all()  # ends on the sphere
    assert res.perturbation[..., ~mask.flatten()].abs().max() == 0
    assert res.perturbation[0].abs().max() == 0  # eta = 0 -> no perturbation


def test_attack_beats_random_noise_of_the_same_coil_norms(trained_cnn, data):
    k, mask, target = data["kspace"], data["mask"], data["target"]
    res = kspace_pgd(trained_cnn, k, mask, target, eta=0.02, region=BOX, progress=False)
    g = torch.Generator().manual_seed(5)
    noise = torch.randn(k.shape, generator=g, dtype=k.dtype) * mask
    noise = (
        noise / _coil_norms(noise)[..., None, None] * _coil_norms(res.perturbation)[..., None, None]
    )
    random_loss = _box_loss(trained_cnn, k, mask, target, noise)
    attacked = _box_loss(trained_cnn, k, mask, target, res.perturbation)
    clean = _box_loss(trained_cnn, k, mask, target, torch.zeros_like(k))
    torch.testing.assert_close(attacked, res.final_loss)
    assert (attacked - clean > 2 * (random_loss - clean).abs()).all()
    assert (res.losses[-1] > res.losses[0]).all()


def test_batched_eta_grid_equals_separate_calls(trained_cnn, data):
    args = (trained_cnn, data["kspace"], data["mask"], data["target"])
    grid = kspace_pgd(*args, eta=ETAS, region=BOX, steps=4, progress=False)
    for i, eta in enumerate(ETAS):
        single = kspace_pgd(*args, eta=eta, region=BOX, steps=4, progress=False)
        assert single.perturbation.shape == data["kspace"].shape
        torch.testing.assert_close(grid.perturbation[i], single.perturbation, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(grid.losses[:, i], single.losses, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("rule", ["exact", "reference"])
def test_passes_of_a_few_slices_give_the_result_of_one_pass(trained_cnn, data, rule):
    args = (trained_cnn, data["kspace"], data["mask"], data["target"])
    whole = kspace_pgd(*args, eta=ETAS, region=BOX, steps=3, rule=rule, progress=False)
    parts = kspace_pgd(*args, eta=ETAS, region=BOX, steps=3, rule=rule, per_pass=1, progress=False)
    for field in ("perturbation", "losses", "reconstruction"):
        torch.testing.assert_close(getattr(parts, field), getattr(whole, field))
    y = physics.apply_mask(data["kspace"], data["mask"])
    whole = pgd_global(trained_cnn, y, data["mask"], eps=[0.0, 0.05], steps=3, progress=False)
    parts = pgd_global(
        trained_cnn, y, data["mask"], eps=[0.0, 0.05], steps=3, per_pass=3, progress=False
    )
    torch.testing.assert_close(parts.reconstruction, whole.reconstruction)
    torch.testing.assert_close(parts.iterate, whole.iterate)


def test_a_zero_budget_gives_the_clean_reconstruction_and_weights_get_no_gradient(
    trained_cnn, data
):
    k, mask, target = data["kspace"], data["mask"], data["target"]
    first = next(trained_cnn.parameters())
    first.requires_grad_(False)  # a caller's own setting survives the attack
    trained_cnn.zero_grad(set_to_none=True)
    res = kspace_pgd(trained_cnn, k, mask, target, eta=ETAS, region=BOX, steps=2, progress=False)
    with torch.no_grad():
        clean = trained_cnn(physics.apply_mask(k, mask), mask)
    torch.testing.assert_close(res.reconstruction[0], clean)
    assert (res.losses[:, 0] == res.losses[0, 0]).all()  # the clean loss at every step
    assert [p.requires_grad for p in trained_cnn.parameters()] == [False, True, True, True]
    assert all(p.grad is None for p in trained_cnn.parameters())
    first.requires_grad_(True)


def test_attack_is_seeded(zero_filled, data):
    args = (zero_filled, data["kspace"], data["mask"], data["target"])
    a = kspace_pgd(*args, eta=0.01, steps=2, seed=1, progress=False)
    b = kspace_pgd(*args, eta=0.01, steps=2, seed=1, progress=False)
    c = kspace_pgd(*args, eta=0.01, steps=2, seed=2, progress=False)
    assert torch.equal(a.perturbation, b.perturbation)
    assert not torch.equal(a.perturbation, c.perturbation)


def test_reference_rule_ends_below_budget_and_leaks_to_unsampled_columns(trained_cnn, data):
    k, mask = data["kspace"], data["mask"]
    res = kspace_pgd(
        trained_cnn,
        k,
        mask,
        data["target"],
        eta=0.02,
        region=BOX,
        rule="reference",
        progress=False,
    )
    budget = 0.02 * _coil_norms(k)
    norms = _coil_norms(res.perturbation)
    assert (norms <= budget * (1 + 1e-5)).all()
    assert (norms < 0.9 * budget).any()
    assert res.perturbation[..., ~mask.flatten()].abs().max() > 0
    assert (res.losses[-1] > res.losses[0]).all()


def test_pgd_global_respects_the_global_budget(trained_cnn, data):
    mask = data["mask"]
    y = physics.apply_mask(data["kspace"], mask)
    res = pgd_global(trained_cnn, y, mask, eps=[0.01, 0.05], steps=5, progress=False)
    norms = torch.linalg.vector_norm(res.perturbation, dim=(2, 3, 4))
    budget = torch.tensor([0.01, 0.05]).view(2, 1) * torch.linalg.vector_norm(y, dim=(1, 2, 3))
    assert (norms <= budget * (1 + 1e-5)).all()
    assert res.perturbation[..., ~mask.flatten()].abs().max() == 0
    assert (res.losses[-1] > res.losses[0]).all()
    assert (res.losses[-1, 1] > res.losses[-1, 0]).all()


class Peaked(ZeroFilled):
    """A constant image of height exp(-((Re<u, y> - level) / width)^2): the attack loss
    (height - clean height)^2 peaks where Re<u, z> reaches `level` - Re<u, y>."""

    def __init__(self, u, level, width):
        super().__init__((24, 24))
        self.u, self.level, self.width = u, level, width

    def reconstruct(self, masked_kspace, mask):
        t = (self.u.conj() * masked_kspace).sum(dim=(1, 2, 3)).real
        height = torch.exp(-(((t - self.level) / self.width) ** 2))
        return height.view(-1, 1, 1).expand(-1, 24, 24)


def test_pgd_global_returns_the_most_damaging_iterate(data):
    """Steps of half the radius from the random start on the sphere overshoot the peak at
    Re<u, z> = 0.6 r: the iterates alternate between a loss near the peak and one near 0, and
    after 4 steps the last iterate is a poor one. The default returns the worst one, as
    Darestani's reference code does."""
    mask = data["mask"]
    y = physics.apply_mask(data["kspace"], mask)
    g = torch.Generator().manual_seed(0)
    u = torch.randn(y.shape, generator=g, dtype=y.dtype) * mask
    u = u / torch.linalg.vector_norm(u, dim=(1, 2, 3), keepdim=True)
    radius = 0.05 * torch.linalg.vector_norm(y, dim=(1, 2, 3))
    level = (u.conj() * y).sum(dim=(1, 2, 3)).real + 0.6 * radius
    recon = Peaked(u, level, 0.2 * radius)
    kwargs = {"eps": 0.05, "steps": 4, "step_size": 0.5, "progress": False}
    last = pgd_global(recon, y, mask, keep="last", **kwargs)
    assert (last.losses[-1] < 0.2 * last.losses.max(dim=0).values).all()
    best = pgd_global(recon, y, mask, **kwargs)
    assert torch.equal(best.final_loss, best.losses.max(dim=0).values)
    assert torch.equal(last.iterate, torch.full((2,), 4)) and (best.iterate < 4).all()
    with torch.no_grad():
        out = recon(physics.apply_mask(y + best.perturbation, mask), mask)
        torch.testing.assert_close(out, best.reconstruction)
        torch.testing.assert_close(metrics.mse(recon(y, mask), out), best.final_loss)


def test_pgd_global_budget_can_refer_to_the_full_kspace(trained_cnn, data):
    k, mask = data["kspace"], data["mask"]
    y = physics.apply_mask(k, mask)
    res = pgd_global(trained_cnn, y, mask, eps=0.05, budget_kspace=k, steps=3, progress=False)
    norms = torch.linalg.vector_norm(res.perturbation, dim=(1, 2, 3))
    full = 0.05 * torch.linalg.vector_norm(k, dim=(1, 2, 3))
    torch.testing.assert_close(norms, full, rtol=1e-4, atol=0)
    assert (norms > 0.05 * torch.linalg.vector_norm(y, dim=(1, 2, 3)) * 1.01).all()
    with pytest.raises(ValueError, match="budget_kspace must have the shape"):
        pgd_global(trained_cnn, y, mask, eps=0.05, budget_kspace=k[:1], progress=False)
    with pytest.raises(ValueError, match="keep must be one of last, best"):
        pgd_global(trained_cnn, y, mask, eps=0.05, keep="worst", progress=False)
    with pytest.raises(ValueError, match=r"eps is relative .* \[0, 1\], got 2"):
        pgd_global(trained_cnn, y, mask, eps=2, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eta": -0.1}, "eta must be a finite number >= 0"),
        ({"eta": [0.01, float("nan")]}, "eta must be a finite number >= 0"),
        ({"eta": [0.01, 1.5]}, r"eta is relative to the k-space norm and must lie in \[0, 1\]"),
        ({"eta": 0.01, "region": [20, 20, 10, 10]}, "leave the 24x24 image"),
        ({"eta": 0.01, "region": torch.zeros(24, 24, dtype=torch.bool)}, "mask is empty"),
        ({"eta": 0.01, "rule": "other"}, "rule must be one of"),
        ({"eta": 0.01, "steps": -1}, "steps must be an integer >= 1"),
        ({"eta": 0.01, "per_pass": 0}, r"per_pass must be None or an int >= 1"),
    ],
)
def test_bad_input_gives_clear_errors(zero_filled, data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kspace_pgd(
            zero_filled, data["kspace"], data["mask"], data["target"], progress=False, **kwargs
        )


def test_mismatched_shapes_are_rejected(zero_filled, data):
    k, mask, target = data["kspace"], data["mask"], data["target"]
    with pytest.raises(ValueError, match="target must be"):
        kspace_pgd(zero_filled, k, mask, target[:, :-1], eta=0.01, progress=False)
    with pytest.raises(ValueError, match="mask of shape"):
        kspace_pgd(zero_filled, k, mask[..., :-1], target, eta=0.01, progress=False)
    with pytest.raises(ValueError, match="kspace must have shape"):
        kspace_pgd(zero_filled, k[0], mask, target, eta=0.01, progress=False)


def test_non_differentiable_method_is_rejected(data):
    class Detached(ZeroFilled):
        def reconstruct(self, masked_kspace, mask):
            return super().reconstruct(masked_kspace, mask).detach()

    with pytest.raises(ValueError, match="use attacks.two_step"):
        kspace_pgd(
            Detached((24, 24)),
            data["kspace"],
            data["mask"],
            data["target"],
            eta=0.01,
            progress=False,
        )
