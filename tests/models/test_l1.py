import numpy as np
import pytest
import pywt
import torch

from mrirobust import physics
from mrirobust.models.l1 import (
    BASES,
    L1Wavelet,
    sigpy_l1_wavelet,
    soft_threshold,
    sparsifying_transform,
    wavelet_levels,
)
from mrirobust.physics import acs_width


def test_torch_fista_agrees_with_sigpy_l1_wavelet_recon(problem):
    kspace, mask, _ = problem
    y = kspace * mask
    recon = L1Wavelet((32, 32), lam=1e-2, iterations=60)
    state = recon.init_state(y, mask)
    ours = recon.fit(state, y, mask)
    ref = sigpy_l1_wavelet(y, state.maps, state.lam, state.step, 60)
    assert (ours - ref).abs().norm() / ref.abs().norm() <= 0.02
    assert (ours.abs() - ref.abs()).norm() / ref.abs().norm() <= 0.02


def _inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.conj() * b).sum()


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("shape", [(32, 24), (30, 17)])
def test_basis_is_an_isometry_with_a_consistent_adjoint(basis, shape):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, *shape, dtype=torch.complex128, generator=g)
    psi = sparsifying_transform(basis, shape, x)
    coeffs = psi.forward(x)
    other = [torch.randn(c.shape, dtype=c.dtype, generator=g) for c in coeffs]
    # <Ψx, c> = <x, Ψᴴc> and ΨᴴΨ = I (the prox Ψᴴ soft(Ψ·) is then sigpy's)
    forward_side = sum(_inner(c, o) for c, o in zip(coeffs, other, strict=True))
    torch.testing.assert_close(forward_side, _inner(x, psi.adjoint(other)))
    torch.testing.assert_close(psi.adjoint(coeffs), x)
    if basis != "wavelet":  # orthonormal: also ΨΨᴴ = I (the zero-padded wavelet is a frame)
        torch.testing.assert_close(psi.forward(psi.adjoint(other))[0], other[0])


def test_wavelet_coefficients_are_pywt_wavedec2():
    x = torch.randn(1, 64, 40, dtype=torch.complex128)
    levels = wavelet_levels((64, 40))
    assert levels == 2
    ref = pywt.wavedec2(x[0].numpy(), "db4", mode="zero", level=levels)
    ours = [c[0].numpy() for c in sparsifying_transform("wavelet", (64, 40), x).forward(x)]
    np.testing.assert_allclose(ours[0], ref[0], atol=1e-12)
    for level, (horizontal, vertical, diagonal) in enumerate(reversed(ref[1:])):
        right, bottom = ours[1 + 2 * level], ours[2 + 2 * level]
        np.testing.assert_allclose(right, vertical, atol=1e-12)
        np.testing.assert_allclose(bottom, np.concatenate([horizontal, diagonal], 1), atol=1e-12)


def test_unknown_basis_names_the_valid_ones():
    with pytest.raises(ValueError, match="'haar'.*wavelet, fourier, dct"):
        L1Wavelet((32, 32), lam=1e-2, iterations=5, basis="haar")
    with pytest.raises(ValueError, match="valid bases"):
        sparsifying_transform("haar", (8, 8), torch.zeros(1, 8, 8, dtype=torch.complex64))


@pytest.mark.parametrize("basis", BASES)
def test_fista_lowers_the_objective_in_every_basis(problem, basis):
    kspace, mask, maps = problem
    y = kspace * mask
    objectives = []
    for iterations in (1, 5, 40):
        recon = L1Wavelet((32, 32), lam=1e-2, iterations=iterations, basis=basis)
        state = recon.init_state(y, mask, maps)
        if iterations == 1:
            objectives.append(recon.objective(state, y, mask))
        recon.fit(state, y, mask)
        objectives.append(recon.objective(state, y, mask))
    objectives = torch.stack(objectives)[:, 0]
    assert (objectives[1:] < objectives[:-1]).all(), objectives


def test_fista_is_differentiable_in_the_kspace(problem):
    kspace, mask, maps = problem
    y = (kspace * mask)[..., :16, :16].to(torch.complex128)
    mask, maps = mask[..., :16], maps[..., :16, :16].to(torch.complex128)
    recon = L1Wavelet((16, 16), lam=1e-2, iterations=3)
    state = recon.init_state(y, mask, maps)

    def image(kspace):
        state.x.data.zero_()
        return recon.image(recon.fit(state, kspace, mask))

    assert torch.autograd.gradcheck(image, (y.requires_grad_(True),), atol=1e-6, fast_mode=True)


def test_soft_threshold_has_finite_gradients_at_zero_coefficients():
    """Maps cropped to zero (ESPIRiT outside the object) give coefficients that are exactly 0:
    their gradient is 0, not NaN (which made one FISTA step on real-shaped data fail)."""
    c = torch.tensor([[[0, 0.5, 2j, -3]]], dtype=torch.complex64, requires_grad=True)
    out = soft_threshold(c, torch.tensor(1.0).view(1, 1, 1))
    torch.testing.assert_close(out.detach(), torch.tensor([[[0, 0, 1j, -2]]], dtype=c.dtype))
    out.abs().sum().backward()
    assert torch.isfinite(torch.view_as_real(c.grad)).all() and c.grad[0, 0, :2].abs().sum() == 0


def test_lambda_trades_data_fit_for_sparsity(problem):
    kspace, mask, maps = problem
    y = kspace * mask
    residuals = []
    for lam in (1e-4, 1e-1):
        recon = L1Wavelet((32, 32), lam=lam, iterations=30)
        state = recon.init_state(y, mask, maps)
        x = recon.fit(state, y, mask)
        residuals.append((physics.apply_mask(physics.sens_expand(x, maps), mask) - y).norm())
    assert residuals[0] < residuals[1]


def test_acs_width_counts_the_centre_block():
    columns = torch.zeros(16, dtype=torch.bool)
    columns[6:11] = True
    columns[1] = True
    assert acs_width(columns) == 5
