"""The one reconstruction interface shared by every method.

A Reconstructor maps complex multi-coil k-space `(B, C, H, W)` (zeros where not sampled) and a
boolean column mask broadcastable to it to a magnitude image `(B, h, w)` at the target size
`image_size`. It is a `torch.nn.Module` and differentiable in the k-space input, so every
attack runs on every method.
"""

from __future__ import annotations

import torch

from mrirobust import physics


class Reconstructor(torch.nn.Module):
    """Base class: validates inputs, then calls `reconstruct`."""

    name = "reconstructor"

    def __init__(self, image_size: tuple[int, int]):
        super().__init__()
        self.image_size = tuple(int(s) for s in image_size)

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        physics.check_kspace(masked_kspace, "masked_kspace")
        physics.check_mask(mask, masked_kspace)
        return self.reconstruct(masked_kspace, mask.to(torch.bool))

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ZeroFilled(Reconstructor):
    """RSS of the inverse FFT of the zero-filled k-space, cropped to `image_size`."""

    name = "zero_filled"

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return physics.rss_crop(physics.apply_mask(masked_kspace, mask), self.image_size)
