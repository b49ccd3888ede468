import math

import pytest
import torch
from sigpy.mri.app import EspiritCalib

from mrirobust import physics
from mrirobust.models.l1 import L1Wavelet

# Not bit-equal: eigh, not sigpy's power iterations, finds the eigenvectors (float rounding).
# Measured: map errors ≤ 1e-6 (pixels whose eigenvalue lies within 1e-4 of the crop threshold
# left out: rounding may crop such a pixel on one side only); l1 images differ by 3e-6, and by
# 4e-4 on the cpu-sized slice below when its pixel at the threshold is cropped by one side only.
MAP_TOLERANCE = 1e-5
L1_TOLERANCE = 1e-3


def coil_kspace(coils: int, shape: tuple[int, int], seed: int = 0, noise: float = 0.02):
    """Fully sampled k-space `(1, C, H, W)`: a textured ellipse phantom times smooth complex coil
    sensitivities placed around the field of view, plus complex Gaussian noise of `noise` times
    the k-space's rms."""
    g = torch.Generator().manual_seed(seed)
    h, w = shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    texture = 1 + 0.3 * torch.sin(9 * xs) * torch.cos(5 * ys)
    image = ((xs / 0.8) ** 2 + (ys / 0.9) ** 2 < 1) * texture
    image = image + 0.6 * (((xs - 0.25) / 0.2) ** 2 + ((ys + 0.1) / 0.35) ** 2 < 1)
    image = image - 0.4 * (((xs + 0.3) / 0.15) ** 2 + ((ys - 0.3) / 0.1) ** 2 < 1)
    sens = []
    for c in range(coils):
        angle = 2 * math.pi * c / coils
        cx, cy = 1.3 * math.cos(angle), 1.3 * math.sin(angle)
        magnitude = torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 1.5)
        sens.append(magnitude * torch.exp(1j * (angle + 0.8 * xs * math.sin(c) + 0.6 * ys)))
    kspace = physics.fft2c(torch.stack(sens).to(torch.complex64) * image)
    rms = kspace.abs().pow(2).mean().sqrt()
    kspace = kspace + noise * rms * torch.randn(kspace.shape, dtype=torch.complex64, generator=g)
    return kspace[None]


def sigpy_maps(kspace, width):
    """sigpy's maps and eigenvalues for one slice `(C, H, W)`, calibrated as `espirit_maps`."""
    maps, eig = EspiritCalib(
        kspace.numpy(),
        calib_width=width,
        kernel_width=min(6, width // 2),
        show_pbar=False,
        output_eigenvalue=True,
    ).run()
    return torch.from_numpy(maps), torch.from_numpy(eig[0])


def masked(coils, shape, acceleration, center_fraction, seed=0):
    kspace = coil_kspace(coils, shape, seed)
    mask = physics.column_mask(shape[1], acceleration, center_fraction, seed).view(1, 1, 1, -1)
    return physics.apply_mask(kspace, mask), mask


@pytest.mark.parametrize(
    "coils, shape, acceleration, center_fraction",
    [
        (8, (192, 140), 4, 0.08),  # cpu size, ACS 11: calib 11, kernel 5
        (4, (128, 96), 4, 0.25),  # ACS 24: sigpy's defaults
        (15, (96, 80), 4, 0.25),  # calib 20, kernel 6
        (8, (97, 75), 4, 0.12),  # odd sizes: calib 9, kernel 4
        (15, (96, 64), 4, 0.1),  # narrow ACS: calib 6, kernel 3
    ],
)
def test_maps_match_sigpy_espirit_calib(coils, shape, acceleration, center_fraction):
    y, mask = masked(coils, shape, acceleration, center_fraction)
    width = min(24, physics.acs_width(mask[0, 0, 0]))
    ours = physics.espirit_maps(y, mask)
    assert ours.shape == y.shape and ours.dtype == torch.complex64
    ref, eig = sigpy_maps(y[0], width)
    # the same pixels kept, except where sigpy's eigenvalue lies at the crop threshold
    kept = ours[0].abs().sum(0) > 0
    decided = (eig - 0.95).abs() > 1e-4
    assert torch.equal(kept[decided], (eig > 0.95)[decided])
    assert kept.any()
    error = (ours[0] - ref)[:, decided].norm() / ref[:, decided].norm()
    assert error <= MAP_TOLERANCE


def test_pixels_cropped_by_their_trace_skip_eigh_and_keep_sigpys_maps(monkeypatch):
    """With 2x readout oversampling (real fastMRI files) the rows outside the object's field
    of view have traces below the crop; they get zero maps without `eigh`, as sigpy's."""
    kspace = coil_kspace(8, (160, 64), noise=0.0)
    image = physics.ifft2c(kspace)
    image[..., :40, :] = 0
    image[..., 120:, :] = 0  # the object fills the central half of the readout rows
    kspace = physics.fft2c(image)
    mask = physics.column_mask(64, 4, 0.25, 0).view(1, 1, 1, -1)
    y = physics.apply_mask(kspace, mask)
    decomposed = []
    eigh = torch.linalg.eigh
    monkeypatch.setattr(torch.linalg, "eigh", lambda g: decomposed.append(len(g)) or eigh(g))
    ours = physics.espirit_maps(y, mask)[0]
    assert decomposed and decomposed[0] < 0.75 * 160 * 64
    ref, eig = sigpy_maps(y[0], min(24, physics.acs_width(mask[0, 0, 0])))
    decided = (eig - 0.95).abs() > 1e-4
    kept = ours.abs().sum(0) > 0
    assert torch.equal(kept[decided], (eig > 0.95)[decided]) and kept.any()
    assert (ours - ref)[:, decided].norm() / ref[:, decided].norm() <= MAP_TOLERANCE


def test_l1_reconstruction_with_our_maps_matches_sigpy_maps():
    y, mask = masked(8, (192, 140), 4, 0.08)  # one pixel's eigenvalue rounds to 0.95
    ref, _ = sigpy_maps(y[0], min(24, physics.acs_width(mask[0, 0, 0])))
    recon = L1Wavelet((192, 140), lam=1e-3, iterations=30)
    with torch.no_grad():
        ours = recon.fit(recon.init_state(y, mask), y, mask)
        theirs = recon.fit(recon.init_state(y, mask, ref[None]), y, mask)
    assert (ours - theirs).norm() / theirs.norm() <= L1_TOLERANCE


def test_slices_are_calibrated_on_their_own_acs_block():
    y, mask = masked(4, (64, 48), 4, 0.25)
    narrow = mask.clone()
    narrow[..., : 24 - 3] = False
    narrow[..., 24 + 4 :] = False  # ACS of 7 columns
    masks = torch.cat([mask, narrow])
    batch = physics.apply_mask(torch.cat([y, y]), masks)
    maps = physics.espirit_maps(batch, masks)
    torch.testing.assert_close(maps[:1], physics.espirit_maps(y, mask))
    torch.testing.assert_close(maps[1:], physics.espirit_maps(batch[1:], narrow))
    assert not torch.allclose(maps[0], maps[1])


def test_bad_acs_blocks_raise_clear_errors():
    y, mask = masked(4, (64, 48), 4, 0.25)
    two = torch.zeros_like(mask)
    two[..., 23:25] = True
    with pytest.raises(ValueError, match="slice 0: ACS block of 2 columns is too narrow"):
        physics.espirit_maps(y, two)
    batch = torch.cat([y, torch.zeros_like(y)])
    with pytest.raises(ValueError, match="slice 1: ESPIRiT returned all-zero maps"):
        physics.espirit_maps(batch, mask)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_maps_stay_on_the_kspace_device():
    y, mask = masked(15, (96, 80), 4, 0.25)  # no eigenvalue within 1e-4 of the crop threshold
    maps = physics.espirit_maps(y.cuda(), mask.cuda())
    assert maps.device.type == "cuda"
    cpu = physics.espirit_maps(y, mask)
    assert (maps.cpu() - cpu).norm() / cpu.norm() <= MAP_TOLERANCE


def test_a_slice_calibrated_again_gets_the_remembered_maps(monkeypatch):
    """Maps depend only on the calibration square: a second call with the same square (other
    samples outside it) returns equal maps without calibrating; another square calibrates."""
    from mrirobust.physics import coils

    y, mask = masked(4, (64, 48), 4, 0.25)
    coils._maps_cache.clear()
    first = physics.espirit_maps(y, mask)
    calls = []
    monkeypatch.setattr(coils, "_espirit_slice", lambda *a: calls.append(a) or first[0])
    outside = y.clone()
    outside[..., :2] += 1.0  # outside the ACS square
    again = physics.espirit_maps(physics.apply_mask(outside, mask), mask)
    assert not calls
    torch.testing.assert_close(again, first)
    again.zero_()  # a copy: the remembered maps are untouched
    torch.testing.assert_close(physics.espirit_maps(y, mask), first)
    physics.espirit_maps(y * 2, mask)
    assert len(calls) == 1


def test_the_remembered_maps_stay_within_their_budget(monkeypatch):
    from mrirobust.physics import coils

    monkeypatch.setattr(coils, "MAPS_CACHE_MB", 0.2)  # two 4 x 64 x 48 complex64 maps (96 kB)
    coils._maps_cache.clear()
    y, mask = masked(4, (64, 48), 4, 0.25)
    for scale in (1.0, 2.0, 3.0):
        physics.espirit_maps(y * scale, mask)
    assert len(coils._maps_cache) == 2
