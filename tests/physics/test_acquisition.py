import pytest
import torch

from mrirobust import physics
from mrirobust.physics import Acquisition


def _complex(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(*shape, generator=g), torch.randn(*shape, generator=g))


def _acquisition(weighted: bool, batch=2, coils=3, h=16, w=12):
    maps = _complex(batch, coils, h, w, seed=1)
    maps = maps / physics.rss(maps).unsqueeze(1)  # sum_i |S_i|^2 = 1
    columns = physics.column_mask(w, 4, 0.25, seed=0)
    if weighted:
        mask = torch.stack([physics.column_mask(w, 4, 0.25, seed=t) for t in range(3)])
        mask = mask.view(1, 3, 1, 1, w)
        times = torch.tensor([[100.0, 200.0, 400.0]]).expand(batch, -1)
        return Acquisition(mask, (12, 10), maps, times)
    return Acquisition(columns.view(1, 1, 1, w), (12, 10), maps)


@pytest.mark.parametrize("weighted", [False, True])
def test_adjoint_satisfies_the_inner_product_identity(weighted):
    """<A x, y> = <x, A^H y> for random x and y (deepinv's adjointness test)."""
    acq = _acquisition(weighted)
    image_shape = (2, 3, 16, 12) if weighted else (2, 16, 12)
    kspace_shape = (2, 3, 3, 16, 12) if weighted else (2, 3, 16, 12)
    x, y = _complex(*image_shape, seed=2), _complex(*kspace_shape, seed=3)
    lhs = torch.vdot(acq.A(x).flatten(), y.flatten())
    rhs = torch.vdot(x.flatten(), acq.A_adjoint(y).flatten())
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-4)


def test_normal_operator_of_full_sampling_is_identity_for_normalised_maps():
    acq = _acquisition(False)
    full = Acquisition(torch.ones(1, 1, 1, 12, dtype=torch.bool), (12, 10), acq.maps)
    x = _complex(2, 16, 12, seed=4)
    torch.testing.assert_close(full.A_adjoint(full.A(x)), x, rtol=1e-4, atol=1e-5)


def test_zero_filled_is_the_rss_crop_of_the_masked_kspace():
    acq = _acquisition(False)
    kspace = _complex(2, 3, 16, 12, seed=5)
    expected = physics.center_crop(physics.rss(physics.ifft2c(kspace * acq.mask)), (12, 10))
    torch.testing.assert_close(acq.zero_filled(kspace), expected)
    series = _acquisition(True)
    out = series.zero_filled(_complex(2, 3, 3, 16, 12, seed=6))
    assert out.shape == (2, 3, 12, 10)


def test_a_without_maps_names_what_is_missing():
    acq = Acquisition(torch.ones(1, 1, 1, 12, dtype=torch.bool), (12, 10))
    with pytest.raises(ValueError, match="no coil maps"):
        acq.A(_complex(1, 16, 12))
    with pytest.raises(ValueError, match="image_size"):
        Acquisition(acq.mask, (0, 10))
    with pytest.raises(ValueError, match="maps must be complex"):
        Acquisition(acq.mask, (12, 10), maps=torch.ones(1, 2, 16, 12))


def test_rotating_by_zero_returns_the_kspace_itself_and_rotation_is_reversible():
    kspace = physics.fft2c(_complex(1, 2, 32, 32, seed=7))
    assert physics.rotate_kspace(kspace, 0.0) is kspace
    acq = Acquisition(torch.ones(1, 1, 1, 32, dtype=torch.bool), (32, 32))
    expected = physics.fft2c(physics.rotate(physics.ifft2c(kspace), 3.0))
    torch.testing.assert_close(acq.rotated(kspace, 3.0), expected)
    each = physics.rotate_kspace_each(kspace, [0.0, 2.0])
    torch.testing.assert_close(each[1], physics.rotate_kspace(kspace, 2.0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(16, 12), (15, 13)])
@pytest.mark.parametrize("mask_shape", ["columns", "2d", "1d"])
def test_normal_operator_is_explicit_a_adjoint_a(shape, mask_shape):
    """The FFT-saving AᴴA (only the axes the mask varies along) equals Aᴴ(A x)."""
    g = torch.Generator().manual_seed(1)
    h, w = shape
    maps = torch.randn(2, 3, h, w, dtype=torch.complex128, generator=g)
    size = {"columns": (2, 1, 1, w), "2d": (2, 1, h, w), "1d": (w,)}[mask_shape]
    acq = Acquisition(torch.rand(size, generator=g) > 0.5, (h, w), maps)
    x = torch.randn(2, h, w, dtype=torch.complex128, generator=g)
    torch.testing.assert_close(acq.normal()(x), acq.A_adjoint(acq.A(x)))


def test_normal_operator_of_a_weighted_series_is_refused():
    with pytest.raises(ValueError, match="weighted series"):
        _acquisition(True).normal()
