import pytest
import torch

from mrirobust import physics


def phantom_problem(size=32, coils=4, acceleration=4, center_fraction=0.16, seed=0):
    """A disc phantom with smooth normalised coil maps, fully sampled k-space and a mask."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    image = ((xx**2 + yy**2) < 0.6).float() + 0.5 * (((xx - 0.2) ** 2 + (yy + 0.1) ** 2) < 0.05)
    centres = [(-1, -1), (1, -1), (-1, 1), (1, 1)][:coils]
    maps = torch.stack(
        [
            torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2)) * torch.exp(torch.tensor(1j * i))
            for i, (cx, cy) in enumerate(centres)
        ]
    ).to(torch.complex64)
    maps = maps / physics.rss(maps, 0).clamp_min(1e-6)
    kspace = physics.fft2c(image.to(torch.complex64) * maps)[None]
    mask = physics.column_mask(size, acceleration, center_fraction, seed).view(1, 1, 1, size)
    return kspace, mask, maps[None]


@pytest.fixture
def problem():
    return phantom_problem()
