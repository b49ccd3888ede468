import pytest
import torch

from mrirobust.physics.relaxometry import (
    air_mask,
    fit_t1,
    fit_t2,
    look_locker_t1,
    molli_signal,
    t2prep_signal,
)

# MOLLI 4(1)3(1)2 inversion times (ms) at RR 1000 ms, sorted; T2-prep times
TI = torch.tensor([110.0, 190.0, 270.0, 1110.0, 1190.0, 2110.0, 2190.0, 3110.0, 4110.0])
TE = torch.tensor([0.0, 35.0, 55.0])


def molli_frames(t1_ms, rho=0.15, amplitude=1.0, times=TI):
    """Magnitude MOLLI frames (1, 9, H, W) of T1 values `(H, W)`, with the Look-Locker
    readout perturbation rho (1/s): 1/T1* = 1/T1 + rho, A = A0 T1*/T1, B = A0 (T1*/T1 + 1)."""
    t1star = 1 / (1 / t1_ms + rho / 1000)
    a = amplitude * t1star / t1_ms
    b = amplitude * (t1star / t1_ms + 1)
    s = molli_signal(times[:, None, None], a, b, t1star).abs()
    return s.unsqueeze(0), t1star


def t1_values(n=24):
    return torch.linspace(300.0, 2200.0, n * n, dtype=torch.float64).reshape(n, n)


def test_look_locker_correction_inverts_the_model():
    t1 = torch.tensor(1160.0)
    _, t1star = molli_frames(t1.view(1, 1))
    a, b = t1star / t1, t1star / t1 + 1
    assert look_locker_t1(a, b, t1star).item() == pytest.approx(1160.0)


def test_t1_fit_recovers_noiseless_curves_and_their_polarity():
    t1 = t1_values()
    frames, t1star = molli_frames(t1)
    fit = fit_t1(frames, TI.double())
    torch.testing.assert_close(fit.t1[0], t1, rtol=1e-4, atol=0)
    torch.testing.assert_close(fit.t1star[0], t1star, rtol=1e-4, atol=0)
    before_null = (TI.double()[:, None, None] < t1star * torch.log(1 + t1 / t1star)).sum(0)
    assert (fit.flips[0] == before_null).all()
    assert set(before_null.unique().tolist()) >= {2, 3, 4, 5}  # several polarities are exercised


def test_t1_fit_is_unbiased_on_noisy_curves():
    torch.manual_seed(0)
    t1 = torch.full((40, 40), 1160.0, dtype=torch.float64)
    frames, _ = molli_frames(t1)
    noisy = (frames + 0.01 * torch.randn_like(frames)).abs()  # SNR 100 at the full signal
    fit = fit_t1(noisy, TI.double())
    relative = fit.t1[0] / 1160.0 - 1
    assert relative.median().abs() < 0.01
    assert relative.abs().median() < 0.03


def test_t2_fit_recovers_noiseless_and_noisy_curves():
    t2 = torch.linspace(20.0, 250.0, 400, dtype=torch.float64).reshape(20, 20)
    frames = t2prep_signal(TE.double()[:, None, None], 0.7, t2).unsqueeze(0)
    torch.testing.assert_close(fit_t2(frames, TE.double()).t2[0], t2, rtol=1e-6, atol=0)
    torch.manual_seed(0)
    frames = t2prep_signal(TE.double()[:, None, None], 1.0, torch.full((40, 40), 45.0))
    noisy = (frames.unsqueeze(0) + 0.01 * torch.randn(1, 3, 40, 40)).abs()
    relative = fit_t2(noisy, TE.double()).t2[0] / 45.0 - 1
    assert relative.median().abs() < 0.01
    assert relative.abs().median() < 0.03


def test_air_is_masked_and_an_all_air_slice_names_its_index():
    t1 = t1_values(8)
    frames, _ = molli_frames(t1)
    frames[..., :2, :] = 0.01 * frames[..., :2, :]
    fit = fit_t1(frames, TI.double())
    assert fit.air[0, :2].all() and not fit.air[0, 2:].any()
    assert (fit.t1[0, :2] == 0).all()
    assert torch.equal(air_mask(frames), fit.air)
    batch = torch.cat([frames, torch.zeros_like(frames)])
    with pytest.raises(ValueError, match=r"fit_t1: slice\(s\) \[1\] of the batch are all air"):
        fit_t1(batch, TI.double())
    with pytest.raises(ValueError, match=r"fit_t2: slice\(s\) \[0\]"):
        fit_t2(torch.zeros(1, 3, 4, 4), TE)


def test_bad_inputs_name_the_problem():
    frames, _ = molli_frames(t1_values(4))
    with pytest.raises(ValueError, match="do not match 9 frames"):
        fit_t1(frames, TE)
    with pytest.raises(ValueError, match="real magnitudes"):
        fit_t1(frames.to(torch.complex128), TI)


def test_fits_are_differentiable_in_the_frames():
    t1 = torch.tensor([[900.0, 1400.0]], dtype=torch.float64)
    frames, _ = molli_frames(t1)
    frames.requires_grad_(True)
    fit_t1(frames, TI.double()).t1.sum().backward()
    grad = frames.grad.clone()
    step = torch.zeros_like(frames)
    step[0, 4, 0, 1] = 1e-6
    with torch.no_grad():
        numeric = (
            fit_t1(frames + step, TI.double()).t1 - fit_t1(frames - step, TI.double()).t1
        ).sum() / 2e-6
    assert grad[0, 4, 0, 1].item() == pytest.approx(numeric.item(), rel=1e-3)
    frames = t2prep_signal(TE.double()[:, None, None], 1.0, torch.full((1, 2), 45.0))
    frames = frames.unsqueeze(0).requires_grad_(True)
    fit_t2(frames, TE.double()).t2.sum().backward()
    assert torch.isfinite(frames.grad).all() and frames.grad.abs().sum() > 0


def test_a_batch_fits_each_slice_as_alone_and_air_sends_no_nan_gradient():
    """Voxels that are air in one slice and tissue in the other, exact-zero background: the
    maps equal each slice's own fit, and the gradient is finite, 0 on air."""
    first, _ = molli_frames(t1_values(8))
    second, _ = molli_frames(t1_values(8).flip(0))
    first[..., :3, :] = 0.0
    second[..., :, :2] = 0.0
    frames = torch.cat([first, second]).requires_grad_(True)
    fit = fit_t1(frames, TI.double())
    for i, alone in enumerate((first, second)):
        assert torch.equal(fit.t1[i], fit_t1(alone, TI.double()).t1[0])
    (grad,) = torch.autograd.grad(fit.t1.sum(), frames)
    assert torch.isfinite(grad).all()
    assert (grad.abs().sum(1)[fit.air] == 0).all() and grad.abs().sum() > 0
