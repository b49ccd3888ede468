"""Image-domain U-Net (fastMRI baseline): zero-filled RSS in, refined magnitude image out."""

from __future__ import annotations

import torch
from fastmri.models import Unet

from mrirobust import physics
from mrirobust.models.base import Reconstructor

CLAMP = 6.0


def normalise(image: torch.Tensor, eps: float = 1e-11):
    """Instance normalisation (x − μ)/(σ + eps) clamped to ±6; returns it with μ, σ + eps."""
    mean = image.mean(dim=(-2, -1), keepdim=True)
    std = image.std(dim=(-2, -1), keepdim=True)
    return ((image - mean) / (std + eps)).clamp(-CLAMP, CLAMP), mean, std + eps


class UNetRecon(Reconstructor):
    """fastMRI's U-Net on the normalised zero-filled RSS image cropped to `image_size`.

    x = crop(RSS(F⁻¹ M y)), x̂ = (x − μ)/σ clamped to ±6, output = U(x̂)·σ + μ, as in fastMRI's
    `UnetDataTransform` + `Unet`.
    """

    name = "unet"

    def __init__(self, image_size: tuple[int, int], chans: int, num_pools: int):
        super().__init__(image_size)
        self.unet = Unet(in_chans=1, out_chans=1, chans=chans, num_pool_layers=num_pools)

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        image = physics.rss_crop(physics.apply_mask(masked_kspace, mask), self.image_size)
        x, mean, std = normalise(image)
        return self.unet(x.unsqueeze(1)).squeeze(1) * std + mean
