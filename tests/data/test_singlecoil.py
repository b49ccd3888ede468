import h5py
import numpy as np
import pytest
import sigpy.mri
import torch

from mrirobust import metrics, physics
from mrirobust.data import list_slices, read_slice, split_dir
from mrirobust.data.singlecoil import emulate_singlecoil


def kspace_of(images: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """Noise-free coil k-space (S, C, H, W) of images (S, H, W) seen through maps (C, H, W)."""
    coils = torch.from_numpy(images[:, None] * maps[None])
    return physics.fft2c(coils).numpy()


def disc_images(slices=2, size=32) -> np.ndarray:
    v, u = np.meshgrid(*(np.linspace(-1, 1, size),) * 2, indexing="ij")
    return np.stack([(u**2 + v**2 < 0.5 + 0.1 * s) * (1.0 + 0.3 * u) for s in range(slices)])


def test_one_coil_is_scaled_by_one_complex_number():
    rng = np.random.default_rng(0)
    k = (rng.standard_normal((2, 1, 16, 12)) + 1j * rng.standard_normal((2, 1, 16, 12))).astype(
        np.complex64
    )
    k_esc, esc, weights = emulate_singlecoil(k, (8, 8))
    assert weights.shape == (1,)
    np.testing.assert_allclose(k_esc, weights[0] * k[:, 0], rtol=1e-5, atol=1e-6)
    expected = physics.center_crop(physics.ifft2c(torch.from_numpy(k_esc)).abs(), (8, 8))
    np.testing.assert_allclose(esc, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_esc_is_the_weighted_sum_of_the_coils():
    rng = np.random.default_rng(1)
    shape = (3, 4, 16, 12)
    k = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    k_esc, _, weights = emulate_singlecoil(k, (8, 8))
    np.testing.assert_allclose(k_esc, np.einsum("c,schw->shw", weights, k), rtol=1e-5, atol=1e-5)
    # linear in the data: scaling the measurements scales k_esc (the weights are scale-free)
    k_esc2, _, weights2 = emulate_singlecoil(3 * k, (8, 8))
    np.testing.assert_allclose(weights2, weights, rtol=1e-6)
    np.testing.assert_allclose(k_esc2, 3 * k_esc, rtol=1e-5, atol=1e-5)


def test_noise_free_coils_with_smooth_maps_give_the_rss_image():
    images = disc_images()
    maps = sigpy.mri.birdcage_maps((8, 32, 32), r=1.5)
    maps = maps / np.sqrt((np.abs(maps) ** 2).sum(axis=0))  # sum_c |S_c|^2 = 1: RSS = image
    _, esc, _ = emulate_singlecoil(kspace_of(images, maps), (24, 24))
    rss = physics.center_crop(torch.from_numpy(images), (24, 24)).numpy()
    assert np.linalg.norm(esc - rss) < 0.05 * np.linalg.norm(rss)


def test_bad_kspace_is_a_clear_error():
    with pytest.raises(ValueError, match=r"multicoil k-space \(slices, coils, H, W\)"):
        emulate_singlecoil(np.ones((2, 16, 12), np.complex64), (8, 8))


def test_embedded_singlecoil_files_hold_the_esc_of_the_multicoil_volume(smoke_root):
    single = list_slices(split_dir("smoke", "knee", "val", "singlecoil"))
    multi = list_slices(split_dir("smoke", "knee", "val"))
    assert [(p.name, i) for p, i in single] == [(p.name, i) for p, i in multi]
    s, m = read_slice(*single[1]), read_slice(*multi[1])
    assert s.kspace.shape == (1, *m.kspace.shape[-2:]) and s.acquired == m.acquired
    # the reader picks reconstruction_esc, the target of the single-coil k-space
    image = physics.rss_crop(s.kspace[None], tuple(s.target.shape))[0]
    torch.testing.assert_close(image, s.target, rtol=1e-4, atol=1e-4 * s.target.max().item())
    with h5py.File(single[1][0]) as hf:  # fastMRI's attrs: max of the whole target volume
        assert s.attrs["max"] == pytest.approx(float(hf["reconstruction_esc"][()].max()))
    weights = s.attrs["esc_weights"]
    assert weights.shape == (m.kspace.shape[0], 2)
    weights = torch.from_numpy(weights[:, 0] + 1j * weights[:, 1])
    k_esc = torch.einsum("c,chw->hw", weights, m.kspace.to(weights.dtype))
    torch.testing.assert_close(k_esc.to(torch.complex64), s.kspace[0], rtol=1e-4, atol=1e-6)
    # one virtual receiver: the anatomy of the RSS image with a single coil's shading and phase
    # (measured at smoke: SSIM 0.82 against the RSS target)
    assert metrics.ssim(m.target[None], s.target[None]).item() > 0.7


def test_challenge_mismatch_names_the_file(smoke_root):
    single = list_slices(split_dir("smoke", "knee", "val", "singlecoil"))[0]
    multi = list_slices(split_dir("smoke", "knee", "val"))[0]
    with pytest.raises(ValueError, match=rf"{single[0].name} is a singlecoil file.*as multicoil"):
        read_slice(*single, challenge="multicoil")
    with pytest.raises(ValueError, match=rf"{multi[0].name} is a multicoil file.*as singlecoil"):
        read_slice(*multi, challenge="singlecoil")
    with pytest.raises(ValueError, match="valid: multicoil, singlecoil"):
        read_slice(*multi, challenge="dualcoil")
    assert read_slice(*single, challenge="singlecoil").kspace.shape[0] == 1


def test_split_dir_names_the_challenge():
    assert split_dir("smoke", "knee", "train", "singlecoil").name == "singlecoil_train"
    with pytest.raises(ValueError, match="unknown challenge 'dualcoil'"):
        split_dir("smoke", "knee", "train", "dualcoil")
