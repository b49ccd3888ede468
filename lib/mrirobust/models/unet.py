"""Image-domain U-Net (fastMRI baseline): zero-filled RSS in, refined magnitude image out."""

from __future__ import annotations

import torch
from fastmri.models import Unet
from torch import nn

from mrirobust.models.base import Reconstructor

CLAMP = 6.0

# normalisation and activation after each convolution: fastMRI's U-Net; Huang & Liang's reference
# code (BatchNorm + PReLU, transposed-conv up-sampling, avg-pool); their text's instance norm
VARIANTS = {
    "fastmri": (nn.InstanceNorm2d, nn.LeakyReLU),
    "huang_liang": (nn.BatchNorm2d, nn.PReLU),
    "huang_liang_instance": (nn.InstanceNorm2d, nn.PReLU),
}


def normalise(image: torch.Tensor, eps: float = 1e-11):
    """Instance normalisation (x − μ)/(σ + eps) clamped to ±6; returns it with μ, σ + eps."""
    mean = image.mean(dim=(-2, -1), keepdim=True)
    std = image.std(dim=(-2, -1), keepdim=True)
    return ((image - mean) / (std + eps)).clamp(-CLAMP, CLAMP), mean, std + eps


def normalise_target(target: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
    """The target in the input's normalised units, (t − μ)/σ clamped to ±6 (fastMRI's
    `UnetDataTransform`, the units of Huang & Liang's loss)."""
    return ((target - mean) / std).clamp(-CLAMP, CLAMP)


def build_unet(chans: int, num_pools: int, variant: str = "fastmri") -> Unet:
    """fastmri's `Unet` (1 -> 1 channels) with the norm and activation layers of `variant`.

    The Huang & Liang variants are module surgery on fastmri's layout: every InstanceNorm2d(c)
    becomes the variant's norm(c), every LeakyReLU a PReLU (one slope, init 0.25). At 64 channels
    and 5 pools "huang_liang" is the reference code's network, 124,375,068 parameters.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown U-Net variant {variant!r}; valid: {', '.join(VARIANTS)}")
    unet = Unet(in_chans=1, out_chans=1, chans=chans, num_pool_layers=num_pools)
    norm, activation = VARIANTS[variant]
    if variant == "fastmri":
        return unet
    for module in unet.modules():
        if isinstance(module, nn.Sequential):
            for i, layer in enumerate(module):
                if isinstance(layer, nn.InstanceNorm2d):
                    module[i] = norm(layer.num_features)
                elif isinstance(layer, nn.LeakyReLU):
                    module[i] = activation()
    return unet


class UNetRecon(Reconstructor):
    """fastMRI's U-Net on the normalised zero-filled RSS image cropped to `image_size`.

    x = crop(RSS(F⁻¹ M y)), x̂ = (x − μ)/σ clamped to ±6, output = U(x̂)·σ + μ, as in fastMRI's
    `UnetDataTransform` + `Unet`. `normalised_input` and `decode` split the two halves, so an
    image-domain perturbation δ can be added to x̂ (Huang & Liang): decode(x̂ + δ, μ, σ).
    """

    name = "unet"

    def __init__(
        self, image_size: tuple[int, int], chans: int, num_pools: int, variant: str = "fastmri"
    ):
        super().__init__(image_size)
        self.variant = variant
        self.unet = build_unet(chans, num_pools, variant)

    def normalised_input(self, masked_kspace: torch.Tensor, mask: torch.Tensor):
        """(x̂ `(B, h, w)`, μ `(B, 1, 1)`, σ `(B, 1, 1)`) of the zero-filled input."""
        return normalise(self.zero_filled(masked_kspace, mask))

    def refine(self, x_hat: torch.Tensor) -> torch.Tensor:
        """U(x̂) `(B, h, w)`, in the normalised units of the input."""
        if self.training and self.variant == "huang_liang" and x_hat.shape[0] < 2:
            raise ValueError(
                "the huang_liang U-Net has BatchNorm: training needs batches of at least 2 "
                f"images (batch_size >= 2), got a batch of {x_hat.shape[0]}"
            )
        return self.unet(x_hat.unsqueeze(1)).squeeze(1)

    @staticmethod
    def normalised_target(target: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
        """The target in the normalised units of the input (`normalise_target`), the units of
        `refine`'s output."""
        return normalise_target(target, mean, std)

    def decode(self, x_hat: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """U(x̂)·σ + μ for a normalised image `(B, h, w)`."""
        return self.refine(x_hat) * std + mean

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.normalised_input(masked_kspace, mask))
