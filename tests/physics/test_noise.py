import pytest
import torch

from mrirobust import physics


@pytest.mark.parametrize("estimator", ["mean", "std"])
@pytest.mark.parametrize("coils", [1, 4])
def test_noise_level_recovers_added_noise(estimator, coils):
    """Object in the centre, empty border; known complex noise added in k-space."""
    g = torch.Generator().manual_seed(coils)
    h = w = 96
    obj = torch.zeros(h, w)
    obj[24:72, 24:72] = 1.0
    phase = torch.exp(1j * torch.rand(coils, 1, 1, generator=g))
    kspace = physics.fft2c((obj * phase).unsqueeze(0).to(torch.complex64))
    sigma = 0.02
    noise = sigma * torch.complex(
        torch.randn(kspace.shape, generator=g), torch.randn(kspace.shape, generator=g)
    )
    noisy = kspace + noise
    expected = torch.linalg.vector_norm(noise, dim=(-2, -1)) / torch.linalg.vector_norm(
        noisy, dim=(-2, -1)
    )
    background = torch.ones(h, w, dtype=torch.bool)
    background[16:80, 16:80] = False
    level = physics.noise_level(noisy, background, estimator=estimator)
    assert level.shape == (1, coils)
    torch.testing.assert_close(level, expected, rtol=0.06, atol=0)


def test_background_mask_keeps_the_air_tiles_and_never_the_object():
    g = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 48), indexing="ij")
    disc = (x**2 + y**2) < 0.5
    image = 1e-2 * torch.rand(64, 48, generator=g).abs() + disc.float()
    mask = physics.background_mask(image, tile=4)
    assert mask.dtype == torch.bool and mask.shape == image.shape
    assert not (mask & disc).any()
    assert mask.float().mean() > 0.3  # most of the air, not only the darkest tiles
