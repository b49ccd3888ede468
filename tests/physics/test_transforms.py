import pytest
import torch

from mrirobust import physics


def _blob(n=3, h=64, w=56):
    ys, xs = torch.linspace(-1, 1, h), torch.linspace(-1, 1, w)
    img = torch.exp(-3 * (ys[:, None] ** 2 + 8 * (xs[None, :] - 0.1) ** 2))
    return img.expand(n, h, w) * torch.arange(1.0, n + 1).view(n, 1, 1)


def test_rotation_is_counter_clockwise():
    x = torch.zeros(1, 32, 48)
    x[0, 16, 36] = 1.0  # 12.5 px right of the centre (15.5, 23.5)
    row, col = divmod(physics.rotate(x, 90.0)[0].argmax().item(), 48)
    assert (row, col) in {(3, 23), (3, 24), (4, 23), (4, 24)}


def test_rotate_and_back_is_close_for_smooth_images():
    img = _blob()
    angles = torch.tensor([4.9, -3.0, 0.1])
    back = physics.rotate(physics.rotate(img, angles), -angles)
    assert (back - img).abs().max() < 0.01 * img.abs().max()
    assert (physics.rotate(img, 4.9) - img).abs().max() > 0.05 * img.abs().max()


def test_batched_angles_equal_single_rotations_and_complex_parts():
    img = _blob() * torch.exp(1j * torch.linspace(0, 1, 56))
    coils = torch.stack([img, 2 * img], dim=1)  # (N, coils, H, W), complex
    angles = torch.tensor([2.0, -1.5, 0.0])
    batched = physics.rotate(coils, angles)
    for i, a in enumerate(angles):
        single = physics.rotate(coils[i : i + 1], a)
        torch.testing.assert_close(batched[i : i + 1], single, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(
        batched.real, physics.rotate(coils.real, angles), atol=1e-6, rtol=1e-5
    )


def test_rotate_is_differentiable_and_rejects_bad_angles():
    img = _blob().requires_grad_(True)
    physics.rotate(img, 3.0).sum().backward()
    assert torch.isfinite(img.grad).all() and img.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="angles"):
        physics.rotate(_blob(), torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="angles"):
        physics.rotate(_blob(), float("nan"))


def test_rotate_each_equals_rotate_on_stacked_pairs():
    img = (_blob(2) * torch.exp(1j * torch.linspace(0, 1, 56))).unsqueeze(1)  # (2, 1, H, W)
    angles = torch.tensor([-4.9, 0.0, 2.5])
    each = physics.rotate_each(img, angles)
    assert each.shape == (3, *img.shape)
    stacked = physics.rotate(img.repeat(3, 1, 1, 1), angles.repeat_interleave(2))
    torch.testing.assert_close(each.flatten(0, 1), stacked, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="angles"):
        physics.rotate_each(img, [])
