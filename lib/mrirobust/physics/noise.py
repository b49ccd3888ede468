"""Thermal noise: the noise level of magnitude images and of k-space, from a signal-free
background (Firbank et al. 1999)."""

from __future__ import annotations

import math

import torch

from mrirobust import regions
from mrirobust.physics.coils import center_crop, rss
from mrirobust.physics.fft import ifft2c
from mrirobust.physics.masks import check_kspace

__all__ = ["background_mask", "noise_sigma", "noise_level"]


def background_mask(image: torch.Tensor, tile: int = 4, fraction: float = 0.05) -> torch.Tensor:
    """Signal-free background of a full field-of-view magnitude image `(H, W)` (Firbank et al.
    1999): the `tile`×`tile` tiles whose mean is at most 1.5× the `fraction`-quantile of all
    tile means. The darkest tiles locate the air; taking every tile within the noise band above
    them (tile means of pure noise scatter by ~±10 %) avoids the downward bias of keeping only
    the darkest noise."""
    H, W = image.shape
    rows, cols = H // tile, W // tile
    means = image[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile).mean(dim=(1, 3))
    chosen = means <= 1.5 * torch.quantile(means.flatten(), fraction)
    mask = torch.zeros(H, W, dtype=torch.bool)
    tiles = chosen.repeat_interleave(tile, 0).repeat_interleave(tile, 1)
    mask[: rows * tile, : cols * tile] = tiles
    return mask


def _chi_mean_factor(coils: int) -> float:
    """E[M]/sigma for M = RSS of `coils` complex Gaussians with std sigma per real component."""
    return math.sqrt(2) * math.exp(math.lgamma(coils + 0.5) - math.lgamma(coils))


def noise_sigma(magnitude: torch.Tensor, background, coils: int, estimator="mean") -> torch.Tensor:
    """Noise std sigma per real component of each coil image, from a signal-free background.

    In the background an RSS image of N coils follows sigma * chi_{2N} (Rayleigh for N = 1,
    Firbank et al. 1999): E[M] = sigma sqrt(2) Gamma(N + 1/2) / Gamma(N) and
    Var[M] = sigma^2 (2N - (E[M]/sigma)^2). `estimator` "mean" inverts the first, "std" the
    second. `magnitude` is `(B, H, W)`, `background` a region (boxes or mask); returns `(B,)`.
    """
    if not (isinstance(coils, int) and coils >= 1):
        raise ValueError(f"coils must be an integer >= 1, got {coils!r}")
    mask = regions.as_region_mask(background, magnitude.shape[0], tuple(magnitude.shape[-2:]))
    mask = mask.to(device=magnitude.device)
    factor = _chi_mean_factor(coils)
    out = []
    for m, bg in zip(magnitude, mask, strict=True):
        values = m[bg].to(torch.float64)
        if estimator == "mean":
            out.append(values.mean() / factor)
        elif estimator == "std":
            if values.numel() < 2:
                raise ValueError("background needs at least 2 pixels for estimator='std'")
            out.append(values.std() / math.sqrt(2 * coils - factor**2))
        else:
            raise ValueError(f"estimator must be 'mean' or 'std', got {estimator!r}")
    return torch.stack(out).to(magnitude.dtype)


def noise_level(kspace: torch.Tensor, background, crop=None, estimator="mean") -> torch.Tensor:
    """Thermal noise in the units of eta: E||n_i|| / ||k_i|| per coil, `(B, C)`.

    sigma comes from `noise_sigma` on the RSS image of the fully sampled `kspace` `(B, C, H, W)`
    (centre-cropped to `crop` = (h, w) first if given; `background` is a region on that image).
    With the orthonormal FFT the k-space noise has the image-domain sigma per real component,
    so E||n_i||_2 ~= sigma sqrt(2 H W). Take `.mean(-1)` for one value per slice.
    """
    check_kspace(kspace)
    image = rss(ifft2c(kspace))
    if crop is not None:
        image = center_crop(image, crop)
    sigma = noise_sigma(image, background, kspace.shape[1], estimator)
    samples = kspace.shape[-2] * kspace.shape[-1]
    norms = torch.linalg.vector_norm(kspace, dim=(-2, -1))
    return sigma.unsqueeze(-1) * math.sqrt(2 * samples) / norms
