import torch

from mrirobust import physics
from mrirobust.models.l1 import L1Wavelet, dwt, idwt, sigpy_l1_wavelet, wavelet_levels
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


def test_wavelet_roundtrip_and_levels():
    x = torch.randn(2, 32, 24, dtype=torch.complex64)
    levels = wavelet_levels((32, 24))
    assert levels == 1
    torch.testing.assert_close(idwt(dwt(x, levels), (32, 24)), x, atol=1e-5, rtol=1e-5)


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
