"""Coil operators: RSS combination, sensitivity expand/reduce, crops, ESPIRiT maps.

Multi-coil k-space is complex `(B, C, H, W)` (H = readout, W = phase encoding); weighted
series add an axis, `(B, T, C, H, W)`, so the coil axis is taken as dimension -3 where both occur.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

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
    """Root-sum-of-squares coil combination, sqrt(sum_i |x_i|^2) over `dim`. Its gradient is 0
    (not NaN, as the square root's) at an exact-zero pixel, which images with zero background
    have: one NaN there would reach every gradient through a later crop or normalisation."""
    squares = (coil_images.abs() ** 2).sum(dim=dim)
    positive = squares > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, squares, 1.0)), 0.0)


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
    """Coil k-space of an image: F(S_i x) for an image `(..., H, W)` and maps `(..., C, H, W)`
    (the coil axis is -3: `(B, H, W)` with `(B, C, H, W)`, or a weighted series `(B, T, H, W)`
    with `(B, 1, C, H, W)`)."""
    return fft2c(image.unsqueeze(-3) * sens)


def sens_reduce(kspace: torch.Tensor, sens: torch.Tensor) -> torch.Tensor:
    """Adjoint of `sens_expand`: sum_i conj(S_i) F^H k_i over the coil axis -3, returning
    `(..., H, W)`."""
    return (sens.conj() * ifft2c(kspace)).sum(dim=-3)


def rss_crop(kspace: torch.Tensor, size: tuple[int, int], coil_dim: int = -3) -> torch.Tensor:
    """RSS of the inverse FFT over `coil_dim`, cropped to `size` = (h, w).

    On masked k-space this is the zero-filled reconstruction; on fully sampled k-space the
    fastMRI target. The one spelling of "RSS of the inverse FFT, cropped" in the library.
    """
    return center_crop(rss(ifft2c(kspace), dim=coil_dim), size)


def espirit_maps(masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ESPIRiT sensitivity maps `(B, C, H, W)` complex64 from each slice's ACS block, on the
    k-space's device: sigpy 0.1.27's `EspiritCalib` (thresh 0.02, crop 0.95, 100 power
    iterations) in torch.

    The calibration square is the ACS width (at most sigpy's default 24); the kernel width is
    sigpy's 6, at most half the calibration width (wider kernels leave no signal subspace on
    narrow ACS blocks and sigpy returns all-zero maps). Slices are calibrated one at a time: their
    ACS widths may differ, and the per-pixel matrices of a whole batch (C² H W each) can exceed
    memory where callers pass every candidate slice at once.

    Matches sigpy's maps to float rounding (tests/physics/test_espirit.py): relative error
    ≤ 1e-5 (measured ≤ 1e-6) and the same crop, leaving out pixels whose eigenvalue lies within
    1e-4 of the crop threshold (one side may keep such a pixel, the other not). Not bit-equal:
    `eigh`, not sigpy's power iterations, finds the eigenvectors (see `_espirit_slice`).

    A slice's maps depend only on its calibration square and image size: the last
    `MAPS_CACHE_MB` of maps are remembered by those (`_remembered_espirit`), so a slice
    reconstructed again (each λ of a search, each basis, each model group) is calibrated once.
    """
    columns = column_mask_of(mask, masked_kspace)
    maps = []
    for b in range(masked_kspace.shape[0]):
        width = min(24, acs_width(columns[b, 0, 0]))
        if width < 3:
            raise ValueError(f"slice {b}: ACS block of {width} columns is too narrow for ESPIRiT")
        ksp = masked_kspace[b].detach().to(torch.complex64)
        slice_maps = _remembered_espirit(ksp, width, min(6, width // 2))
        if not slice_maps.any():
            raise ValueError(f"slice {b}: ESPIRiT returned all-zero maps (ACS width {width})")
        maps.append(slice_maps)
    return torch.stack(maps)


TRACE_MARGIN = 1e-3  # room for float32 rounding of the per-pixel traces, which are of order 1
MAPS_CACHE_MB = 256  # the remembered maps, at most (28 MB a 640 x 368 x 15 slice)
_maps_cache: OrderedDict[tuple, torch.Tensor] = OrderedDict()


def _remembered_espirit(ksp: torch.Tensor, calib_width: int, kernel_width: int) -> torch.Tensor:
    """`_espirit_slice(ksp, calib_width, kernel_width)`, computed once per calibration square
    (its bytes), image size and device among the last `MAPS_CACHE_MB` of maps (least recently
    used dropped first); a copy, so callers may change it."""
    coils, h, w = ksp.shape
    top, left = h // 2 - calib_width // 2, w // 2 - calib_width // 2
    calib = ksp[:, top : top + calib_width, left : left + calib_width]
    digest = hashlib.blake2b(calib.cpu().numpy().tobytes(), digest_size=16).hexdigest()
    key = (digest, coils, h, w, calib_width, kernel_width, str(ksp.device))
    if key in _maps_cache:
        _maps_cache.move_to_end(key)
        return _maps_cache[key].clone()
    maps = _espirit_slice(ksp, calib_width, kernel_width)
    _maps_cache[key] = maps
    budget = MAPS_CACHE_MB * 2**20
    while sum(m.numel() * m.element_size() for m in _maps_cache.values()) > budget:
        _maps_cache.popitem(last=False)
    return maps.clone()


def _espirit_slice(
    ksp: torch.Tensor,
    calib_width: int,
    kernel_width: int,
    thresh: float = 0.02,
    crop: float = 0.95,
    iterations: int = 100,
) -> torch.Tensor:
    """sigpy's `EspiritCalib(ksp, calib_width, thresh, kernel_width, crop, iterations).run()` for
    one slice `(C, H, W)`.

    Kernels: the rows v of Vᴴ in the SVD U Σ Vᴴ of the calibration matrix (one row per k × k
    patch of the centred calibration square, C k² columns) with σ > thresh · σ_max.
    Per-pixel matrix: G(x) = (N / k²) Σ_v g_v(x) g_v(x)ᴴ, with g_v = F⁻¹ v (centred, orthonormal)
    of the kernel zero-padded to the N = H W grid. A product of two such inverse FFTs is the
    inverse FFT of the kernels' correlation, so G_ij = (√N / k²) F⁻¹ R_ij with
    R_ij(d) = Σ_v Σ_u v_i(u) conj(v_j(u − d)), |d| < k: one inverse FFT per coil pair instead
    of one per kernel and coil.
    Maps: sigpy's `iterations` power iterations from the all-ones vector, x = Gⁿ1 / ‖Gⁿ1‖ with
    the eigenvalue estimate ‖Gⁿ1‖ / ‖Gⁿ⁻¹1‖, evaluated in closed form from G = V diag(λ) Vᴴ
    (`eigh`): Gⁿ1 = V diag(λⁿ) Vᴴ1. Pixels whose eigenvalue gap is too small for n iterations
    thus keep sigpy's partial mixture of eigenvectors. Then the phase of coil 0 is removed and
    pixels with estimate ≤ crop are set to 0.
    """
    coils, h, w = ksp.shape
    k = kernel_width
    top, left = h // 2 - calib_width // 2, w // 2 - calib_width // 2
    calib = ksp[:, top : top + calib_width, left : left + calib_width]
    patches = calib.unfold(1, k, 1).unfold(2, k, 1)  # (C, rows, columns, k, k)
    hankel = patches.permute(1, 2, 0, 3, 4).reshape(-1, coils * k * k)
    # in double precision: pixels whose two leading eigenvalues are close amplify rounding of
    # the kernels' span (4e-5 relative map error in single precision, 3e-6 for sigpy's)
    _, sigma, vh = torch.linalg.svd(hankel.to(torch.complex128), full_matrices=False)
    kernels = vh[sigma > thresh * sigma.max()].reshape(-1, coils, k, k).to(ksp.dtype)
    if not len(kernels):  # an all-zero calibration square (sigpy's maps are then NaN)
        return torch.zeros_like(ksp)

    # R_ij for the coil pairs i >= j (eigh reads the lower triangle only), circular at size
    # 2k - 1 (no wrap-around), then centred on the image grid
    spectra = torch.fft.fft2(kernels, s=(2 * k - 1, 2 * k - 1))
    rows, cols = torch.tril_indices(coils, coils, device=ksp.device)
    corr = torch.fft.ifft2((spectra[:, rows] * spectra[:, cols].conj()).sum(0))
    grid = corr.new_zeros(len(rows), h, w)
    grid[:, h // 2 - k + 1 : h // 2 + k, w // 2 - k + 1 : w // 2 + k] = torch.fft.fftshift(
        corr, dim=(-2, -1)
    )
    gram = grid.new_zeros(h, w, coils, coils)
    gram[:, :, rows, cols] = ifft2c(grid).permute(1, 2, 0) * ((h * w) ** 0.5 / k**2)

    # G is positive semi-definite, so the estimate <= λ_max <= trace G: a pixel whose trace lies
    # below the crop (by more than rounding) has a zero map without `eigh`, which dominates the
    # cost (about 60 % of the pixels of the real-format test files, whose 2x oversampled readout
    # leaves half the rows outside the object, are cropped: 1.4-2.2x faster, identical maps)
    trace = gram.diagonal(dim1=-2, dim2=-1).real.sum(dim=-1)
    kept = trace > crop - TRACE_MARGIN
    lam, vec = torch.linalg.eigh(gram[kept])
    tiny = torch.finfo(lam.dtype).tiny
    largest = lam.abs().amax(dim=-1)
    ratio = lam / largest.clamp_min(tiny).unsqueeze(-1)
    ones = vec.sum(dim=-2).conj()  # Vᴴ1
    last, before = ratio**iterations * ones, ratio ** (iterations - 1) * ones
    eig = largest * last.norm(dim=-1) / before.norm(dim=-1).clamp_min(tiny)
    x = vec @ (last / last.norm(dim=-1, keepdim=True).clamp_min(tiny)).unsqueeze(-1)
    maps = ksp.new_zeros(h, w, coils)
    maps[kept] = x[..., 0] * torch.sgn(x[:, :1, 0]).conj() * (eig > crop).unsqueeze(-1)
    return maps.permute(2, 0, 1)
