"""The one reconstruction interface shared by every method.

A Reconstructor maps complex multi-coil k-space `(B, C, H, W)` (zeros where not sampled) and a
boolean column mask broadcastable to it to a magnitude image `(B, h, w)` at the target size
`image_size` (or `output_size(shape)`: square at the k-space width when the k-space is narrower,
as fastMRI crops its narrow brain images). It is a `torch.nn.Module` and differentiable in the
k-space input, so every attack runs on every method.

Every Reconstructor has a device (`mrirobust.devices`): a parameter-free method (zero-filled,
l1, ConvDecoder) carries an empty buffer, so `model.to(device)` moves it like a network, and
its inputs are moved there on every call.
"""

from __future__ import annotations

import torch

from mrirobust import devices, physics


class Reconstructor(torch.nn.Module):
    """Base class: validates inputs, then calls `reconstruct`."""

    name = "reconstructor"

    def __init__(self, image_size: tuple[int, int]):
        super().__init__()
        self.image_size = tuple(int(s) for s in image_size)
        # not in the state dict, so checkpoints are unchanged
        self.register_buffer("_device_anchor", torch.empty(0), persistent=False)

    @property
    def device(self) -> torch.device:
        """Where the method computes (`devices.of`); its inputs are moved there."""
        return devices.of(self)

    def output_size(self, kspace_shape) -> tuple[int, int]:
        """The size of the image this method returns for k-space of `kspace_shape`:
        `image_size`, or square at the k-space width when that is narrower
        (`physics.crop_size`)."""
        return physics.crop_size(self.image_size, kspace_shape[-1])

    def zero_filled(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """RSS of Fᴴ M y cropped to `output_size` (`physics.Acquisition.zero_filled`)."""
        size = self.output_size(masked_kspace.shape)
        return physics.Acquisition(mask, size).zero_filled(masked_kspace)

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        physics.check_kspace(masked_kspace, "masked_kspace")
        physics.check_mask(mask, masked_kspace)
        masked_kspace, mask = devices.to_model(self, masked_kspace, mask)
        return self.reconstruct(masked_kspace, mask.to(torch.bool))

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ZeroFilled(Reconstructor):
    """RSS of the inverse FFT of the zero-filled k-space, cropped to `image_size`."""

    name = "zero_filled"

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.zero_filled(masked_kspace, mask)
