import pytest
import torch

from mrirobust import metrics, physics
from mrirobust.attacks import angle_grid, kspace_pgd, rotated_pgd, rotation_search

BOX = torch.tensor([6, 8, 8, 6])
GRID = torch.round(torch.arange(-2.0, 2.01, 0.5), decimals=2)


def test_batched_grid_equals_per_angle_loop(trained_cnn, data):
    args = (trained_cnn, data["kspace"], data["mask"], data["target"])
    res = rotation_search(*args, angles=GRID, region=BOX, batch_size=4, progress=False)
    assert res.losses.shape == res.ssim.shape == (GRID.numel(), 2)
    for i, angle in enumerate(GRID):
        single = rotation_search(*args, angles=[angle], region=BOX, progress=False)
        torch.testing.assert_close(res.losses[i], single.losses[0], rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(res.ssim[i], single.ssim[0], rtol=1e-4, atol=1e-6)


def test_zero_angle_is_the_plain_reconstruction_up_to_interpolation(zero_filled, data):
    k, mask, target = data["kspace"], data["mask"], data["target"]
    res = rotation_search(zero_filled, k, mask, target, angles=[0.0], progress=False)
    plain = zero_filled(physics.apply_mask(k, mask), mask)
    expected = metrics.mse(target, plain)
    torch.testing.assert_close(res.losses[0], expected, rtol=0.05, atol=0)


def test_worst_picks_the_max_loss_within_theta_max(zero_filled, data):
    args = (zero_filled, data["kspace"], data["mask"], data["target"])
    res = rotation_search(*args, angles=GRID, region=BOX, progress=False)
    angle, loss = res.worst(1.0)
    inside = GRID.abs() <= 1.0
    torch.testing.assert_close(loss, res.losses[inside].max(dim=0).values)
    assert (angle.abs() <= 1.0).all()
    zero_angle, zero_loss = res.worst(0)
    assert (zero_angle == 0).all()
    torch.testing.assert_close(zero_loss, res.losses[GRID == 0][0])
    assert (res.worst(2.0)[1] >= loss).all()


def test_bad_input_gives_clear_errors(zero_filled, data):
    args = (zero_filled, data["kspace"], data["mask"], data["target"])
    res = rotation_search(*args, angles=[-0.5, 0.5], progress=False)
    with pytest.raises(ValueError, match="lacks 0"):
        res.worst(0)
    with pytest.raises(ValueError, match="theta_max must be >= 0"):
        res.worst(-1)
    with pytest.raises(ValueError, match="angles must be"):
        rotation_search(*args, angles=[0.0, float("inf")], progress=False)
    with pytest.raises(ValueError, match="region"):
        rotation_search(*args, angles=[0.0], region=[0, 0, 0, 3], progress=False)
    with pytest.raises(ValueError, match="target must be"):
        rotation_search(*args[:3], args[3][:1], angles=[0.0], progress=False)


def test_angle_grid_is_symmetric_and_contains_zero():
    grid = angle_grid(4.9, 0.1)
    assert grid.numel() == 99 and grid[0] == -4.9 and grid[-1] == 4.9 and (grid == 0).sum() == 1
    with pytest.raises(ValueError, match="step > 0"):
        angle_grid(1.0, 0.0)


def test_rotated_pgd_at_zero_degrees_is_the_plain_kspace_pgd(trained_cnn, data):
    args = (trained_cnn, data["kspace"], data["mask"], data["target"])
    settings = dict(eta=[0.0, 0.02], steps=3, seed=1, progress=False)
    plain = kspace_pgd(*args, region=BOX, **settings)
    rotated = rotated_pgd(*args, angle=0.0, region=BOX, **settings)
    torch.testing.assert_close(rotated.reconstruction, plain.reconstruction.detach())
    torch.testing.assert_close(rotated.perturbation, plain.perturbation)


def test_rotated_pgd_returns_reconstructions_in_the_unrotated_frame(trained_cnn, data):
    k, mask, target = data["kspace"], data["mask"], data["target"]
    result = rotated_pgd(
        trained_cnn, k, mask, target, angle=3.0, eta=0.0, region=BOX, steps=1, progress=False
    )
    assert result.reconstruction.shape == target.shape
    with torch.no_grad():
        rotated = trained_cnn(physics.apply_mask(physics.rotate_kspace(k, 3.0), mask), mask)
    torch.testing.assert_close(result.reconstruction, physics.rotate(rotated, -3.0))
    # rotated back, it stays close to the unrotated reconstruction (interpolation only)
    with torch.no_grad():
        plain = trained_cnn(physics.apply_mask(k, mask), mask)
    assert (metrics.mse(plain, result.reconstruction) < 0.05 * plain.square().mean()).all()
