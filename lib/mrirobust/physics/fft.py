"""Centred orthonormal 2-D FFT on complex torch tensors, and fastmri's real layout.

The FFT is fastMRI's centred, orthonormal transform, F x = fftshift(fft2(ifftshift(x)),
norm="ortho"), over the last two dimensions (fastmri's `fft2c` takes the `(..., 2)` real
layout; tests check equality).
"""

from __future__ import annotations

import functools

import torch

__all__ = ["FFT_DIMS", "fft2c", "ifft2c", "to_fastmri", "from_fastmri", "oversample_readout"]

FFT_DIMS = (-2, -1)


def fft2c(image: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal 2-D FFT over the last two dimensions (image -> k-space)."""
    return _centred(torch.fft.fft2, image)


def ifft2c(kspace: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal inverse 2-D FFT over the last two dimensions (k-space -> image)."""
    return _centred(torch.fft.ifft2, kspace)


def _centred(transform, x: torch.Tensor) -> torch.Tensor:
    """fftshift(transform(ifftshift(x))). For even H and W the shifts by N/2 are modulations,
    S F S x = (-1)^(H/2 + W/2) m * F(m * x) with the checkerboard m = (-1)^(h + w), which costs
    two multiplications instead of four copies; odd sizes take the explicit shifts."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        shifted = torch.fft.ifftshift(x, dim=FFT_DIMS)
        return torch.fft.fftshift(transform(shifted, dim=FFT_DIMS, norm="ortho"), dim=FFT_DIMS)
    before, after = _checkerboards(h, w, x.dtype, x.device)
    return transform(x * before, dim=FFT_DIMS, norm="ortho") * after


@functools.lru_cache(maxsize=64)
def _checkerboards(h: int, w: int, dtype: torch.dtype, device: torch.device):
    """m = (-1)^(h + w) and (-1)^(H/2 + W/2) m, the modulations of `_centred` (even sizes)."""
    parity = (torch.arange(h).view(-1, 1) + torch.arange(w)) % 2
    before = (1 - 2 * parity).to(dtype=dtype, device=device)
    return before, before * (-1) ** ((h // 2 + w // 2) % 2)


def to_fastmri(x: torch.Tensor) -> torch.Tensor:
    """Complex tensor -> fastmri's real layout `(..., 2)`."""
    return torch.view_as_real(x.contiguous())


def from_fastmri(x: torch.Tensor) -> torch.Tensor:
    """fastmri's real layout `(..., 2)` -> complex tensor."""
    if x.shape[-1] != 2:
        raise ValueError(f"fastmri layout needs a last dimension of 2, got shape {tuple(x.shape)}")
    return torch.view_as_complex(x.contiguous())


def oversample_readout(kspace: torch.Tensor, rows: int) -> torch.Tensor:
    """k-space `(..., H, W)` resampled to `rows` readout samples: the coil images zero-padded
    along the readout to `rows` (centred), then transformed back, which is exact (sinc)
    interpolation of k-space. rows = 2H doubles the field of view, as fastMRI's 2x readout
    oversampling."""
    height = kspace.shape[-2]
    if not (isinstance(rows, int) and rows >= height):
        raise ValueError(f"rows must be an integer >= the k-space height {height}, got {rows!r}")
    top = (rows - height) // 2
    images = torch.nn.functional.pad(ifft2c(kspace), (0, 0, top, rows - height - top))
    return fft2c(images)
