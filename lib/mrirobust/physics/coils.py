"""Coil operators: RSS combination, sensitivity expand/reduce, crops, ESPIRiT maps.

Multi-coil k-space is complex `(B, C, H, W)` (H = readout, W = phase encoding); weighted
series add an axis, `(B, T, C, H, W)`, so the coil axis is taken as dimension -3 where both occur.
"""

from __future__ import annotations

import numpy as np
import torch

from mrirobust.physics.fft import fft2c, ifft2c
from mrirobust.physics.masks import acs_width, column_mask_of

__all__ = [
    "rss",
    "center_crop",
    "crop_size",
    "rss_crop",
    "sens_expand",
    "sens_reduce",
    "espirit_maps",
]


def rss(coil_images: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Root-sum-of-squares coil combination, sqrt(sum_i |x_i|^2) over `dim`."""
    return torch.sqrt((coil_images.abs() ** 2).sum(dim=dim))


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop the last two dimensions to `size` = (h, w), centred as fastmri does."""
    h, w = size
    H, W = x.shape[-2:]
    if not (0 < h <= H and 0 < w <= W):
        raise ValueError(f"crop size {size} must lie within the image size {(H, W)}")
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top : top + h, left : left + w]


def crop_size(image_size: tuple[int, int], width: int) -> tuple[int, int]:
    """The target size of an image `width` columns wide for a method of `image_size` = (h, w):
    (h, w), or (width, width) when the image is narrower than w (fastMRI's rule for the brain
    FLAIR files narrower than 320 columns, `UnetDataTransform`); the stored target is cropped
    alike (`data.read_slice`)."""
    h, w = (int(s) for s in image_size)
    return (h, w) if width >= w else (int(width), int(width))


def sens_expand(image: torch.Tensor, sens: torch.Tensor) -> torch.Tensor:
    """Coil k-space of an image: F(S_i x) for image `(B, H, W)` and maps `(B, C, H, W)`."""
    return fft2c(image.unsqueeze(1) * sens)


def sens_reduce(kspace: torch.Tensor, sens: torch.Tensor) -> torch.Tensor:
    """Adjoint of `sens_expand`: sum_i conj(S_i) F^H k_i, returning `(B, H, W)`."""
    return (sens.conj() * ifft2c(kspace)).sum(dim=1)


def rss_crop(kspace: torch.Tensor, size: tuple[int, int], coil_dim: int = -3) -> torch.Tensor:
    """RSS of the inverse FFT over `coil_dim`, cropped to `size` = (h, w).

    On masked k-space this is the zero-filled reconstruction; on fully sampled k-space the
    fastMRI target. The one spelling of "RSS of the inverse FFT, cropped" in the library.
    """
    return center_crop(rss(ifft2c(kspace), dim=coil_dim), size)


def espirit_maps(masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ESPIRiT sensitivity maps `(B, C, H, W)` (sigpy `EspiritCalib`) from each slice's ACS block.

    The calibration square is the ACS width (at most sigpy's default 24); the kernel width is
    sigpy's 6, at most half the calibration width (wider kernels leave no signal subspace on
    narrow ACS blocks and sigpy returns all-zero maps).
    """
    from sigpy.mri.app import EspiritCalib

    columns = column_mask_of(mask, masked_kspace)
    maps = []
    for b in range(masked_kspace.shape[0]):
        width = min(24, acs_width(columns[b, 0, 0]))
        if width < 3:
            raise ValueError(f"slice {b}: ACS block of {width} columns is too narrow for ESPIRiT")
        ksp = masked_kspace[b].detach().cpu().numpy().astype(np.complex64)
        calib = EspiritCalib(
            ksp, calib_width=width, kernel_width=min(6, width // 2), show_pbar=False
        ).run()
        calib = np.asarray(calib, dtype=np.complex64)
        if not np.abs(calib).any():
            raise ValueError(f"slice {b}: ESPIRiT returned all-zero maps (ACS width {width})")
        maps.append(torch.from_numpy(calib))
    return torch.stack(maps).to(masked_kspace.device)
