import fastmri
import pytest
import torch

from mrirobust import physics


def _random_complex(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(*shape, generator=g), torch.randn(*shape, generator=g))


# even sizes take the modulation path (both signs of (-1)^(H/2 + W/2)), odd ones the shifts
@pytest.mark.parametrize("shape", [(2, 3, 16, 12), (1, 2, 10, 12), (1, 1, 15, 9), (1, 1, 16, 9)])
def test_fft_matches_fastmri(shape):
    x = _random_complex(*shape)
    ours = physics.fft2c(x)
    theirs = physics.from_fastmri(fastmri.fft2c(physics.to_fastmri(x)))
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(
        physics.ifft2c(x), physics.from_fastmri(fastmri.ifft2c(physics.to_fastmri(x)))
    )


def test_fft_is_unitary_and_inverse():
    x = _random_complex(2, 4, 20, 14)
    k = physics.fft2c(x)
    torch.testing.assert_close(k.abs().pow(2).sum(), x.abs().pow(2).sum(), rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(physics.ifft2c(k), x, rtol=1e-5, atol=1e-5)


def test_sens_reduce_is_adjoint_of_sens_expand():
    image = _random_complex(2, 16, 12, seed=1)
    sens = _random_complex(2, 5, 16, 12, seed=2)
    kspace = _random_complex(2, 5, 16, 12, seed=3)
    lhs = torch.vdot(physics.sens_expand(image, sens).flatten(), kspace.flatten())
    rhs = torch.vdot(image.flatten(), physics.sens_reduce(kspace, sens).flatten())
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-3)


def test_rss_and_crop_match_fastmri():
    x = _random_complex(2, 4, 18, 14)
    torch.testing.assert_close(physics.rss(x), fastmri.rss_complex(physics.to_fastmri(x), dim=1))
    from fastmri.data.transforms import center_crop

    torch.testing.assert_close(physics.center_crop(x, (10, 8)), center_crop(x, (10, 8)))


def test_rss_gradient_is_finite_where_the_image_is_exactly_zero():
    """A zero background outside the crop (band-limited or zero-padded images) must not turn the
    gradient of the cropped RSS into NaN (the square root's derivative is infinite at 0)."""
    x = torch.zeros(1, 2, 12, 12, dtype=torch.complex64)
    x[..., 3:9, 3:9] = _random_complex(1, 2, 6, 6)
    x.requires_grad_(True)
    physics.center_crop(physics.rss(x), (8, 8)).sum().backward()
    assert torch.isfinite(torch.view_as_real(x.grad)).all()
    assert (x.grad[..., :2, :] == 0).all()


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="complex"):
        physics.check_kspace(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, coils, H, W\)"):
        physics.check_kspace(torch.zeros(2, 4, 4, dtype=torch.complex64))
    bad = torch.zeros(1, 2, 4, 4, dtype=torch.complex64)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        physics.check_kspace(bad, "attacked kspace")
    with pytest.raises(ValueError, match="does not broadcast"):
        physics.check_mask(torch.ones(1, 1, 1, 5, dtype=torch.bool), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="crop size"):
        physics.center_crop(torch.zeros(4, 4), (5, 2))


@pytest.mark.parametrize("kind", ["random", "equispaced_fraction"])
@pytest.mark.parametrize("acceleration, center_fraction", [(4, 0.08), (8, 0.04)])
def test_column_mask_is_seeded_and_has_the_right_rate(kind, acceleration, center_fraction):
    a = physics.column_mask(368, acceleration, center_fraction, seed=3, kind=kind)
    b = physics.column_mask(368, acceleration, center_fraction, seed=3, kind=kind)
    c = physics.column_mask(368, acceleration, center_fraction, seed=4, kind=kind)
    assert a.dtype == torch.bool and a.shape == (368,)
    assert torch.equal(a, b)
    assert kind == "equispaced_fraction" or not torch.equal(a, c)
    centre = round(368 * center_fraction)
    start = (368 - centre + 1) // 2
    assert a[start : start + centre].all()
    assert abs(a.float().mean().item() - 1 / acceleration) < 0.06


def test_column_mask_respects_acquired_columns_and_validates():
    mask = physics.column_mask(100, 4, 0.08, seed=0, acquired=(10, 89))
    assert not mask[:10].any() and not mask[90:].any()
    with pytest.raises(ValueError, match="acquired columns"):
        physics.column_mask(100, 4, 0.08, seed=0, acquired=(10, 100))
    with pytest.raises(ValueError, match="unknown mask kind"):
        physics.column_mask(100, 4, 0.08, seed=0, kind="poisson")
    with pytest.raises(ValueError, match="acceleration"):
        physics.column_mask(100, 0, 0.08, seed=0)


def test_rotation_by_zero_is_nearly_the_identity():
    """The reference interpolation (2x bicubic up, bilinear rotate, bicubic down, no
    antialiasing) keeps a 0-degree rotation within 1 % of the image."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, 48), torch.linspace(-1, 1, 40), indexing="ij")
    image = ((x**2 + (y / 0.8) ** 2) < 0.5).float() + 0.3 * torch.sin(6 * x) * torch.cos(4 * y)
    out = physics.rotate(image[None], 0.0)[0]
    assert ((out - image).norm() / image.norm()).item() < 0.01


def test_oversample_readout_keeps_the_image_and_doubles_the_field_of_view():
    g = torch.Generator().manual_seed(0)
    kspace = torch.complex(
        torch.randn(2, 4, 32, 24, generator=g), torch.randn(2, 4, 32, 24, generator=g)
    )
    fixed = physics.oversample_readout(kspace, 64)
    assert fixed.shape == (2, 4, 64, 24)
    middle = physics.ifft2c(fixed)[..., 16:48, :]  # the image, padded by 16 rows each side
    torch.testing.assert_close(middle, physics.ifft2c(kspace), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(physics.oversample_readout(kspace, 32), kspace)
    with pytest.raises(ValueError, match="rows must be an integer >= the k-space height 32"):
        physics.oversample_readout(kspace, 16)
