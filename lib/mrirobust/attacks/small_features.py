"""Artificial small-feature recovery (Darestani et al. 2021, section 6).

For every window position p (top-left corner on the target image, moved by `stride`), the
fully sampled k-space k of one slice gets a k x k feature 1_p and is measured again:

    "replace" (the paper: the window is filled with `value`, default max |x|):
        k_p = k + F(S 1_p (value - x)),   x = sum_i conj(S_i) F^-1 k_i / sum_i |S_i|^2,
        with coil maps S; by default the data's own, S_i = F^-1 k_i / RSS(F^-1 k) (then x is
        the RSS image and the window of RSS(F^-1 k_p) equals `value` exactly, also in the
        background, where estimated maps such as ESPIRiT's are cropped to zero);
    "reference" (the reference code: no maps, the same bump added to every coil):
        k_p = k + F(1_p value),   value default max(RSS target) / 6;

    error(p) = mean over the window of (n(recon(M k_p)) - n(crop(RSS(F^-1 k_p))))^2,

where n(u) = (u - mean u) / std u standardises each whole image, so the error does not depend
on the method's intensity scale. Noise and model mismatch of k are kept (only the feature is
synthetic). Positions are reconstructed `batch_size` at a time, one window per reconstruction
or, with `lattice`, many.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from mrirobust import devices, physics
from mrirobust.attacks.pgd import output_size

MODES = ("replace", "reference")


@dataclass
class SmallFeatureResult:
    """Window error per position `(len(rows), len(cols))`; rows/cols are the windows' top-left
    corners on the target image, `size` the window side and `value` the feature's value."""

    errors: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    size: int
    value: float


def standardise(x: torch.Tensor) -> torch.Tensor:
    """(x - mean x) / std x over each image's last two axes (the reference's normalize_instance)."""
    mean = x.mean(dim=(-2, -1), keepdim=True)
    return (x - mean) / x.std(dim=(-2, -1), keepdim=True).clamp_min(1e-30)


def data_maps(kspace: torch.Tensor) -> torch.Tensor:
    """The data's own coil maps `(C, H, W)`: coil images over their RSS, sum_i |S_i|^2 = 1."""
    images = physics.ifft2c(kspace)
    return images / physics.rss(images, 0).clamp_min(torch.finfo(images.real.dtype).tiny)


def feature_kspace(
    kspace: torch.Tensor,
    windows: torch.Tensor,
    value: float,
    *,
    mode: str = "replace",
    maps: torch.Tensor | None = None,
) -> torch.Tensor:
    """k_p `(n, C, H, W)` for boolean windows `(n, H, W)` on one slice's k-space `(C, H, W)`
    (formulas in the module docstring; "replace" needs `maps` `(C, H, W)`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    windows = windows.to(kspace.real.dtype)
    if mode == "reference":
        return kspace + physics.fft2c(value * windows).unsqueeze(1)
    if maps is None:
        raise ValueError('mode "replace" needs coil maps (e.g. data_maps(kspace))')
    tiny = torch.finfo(kspace.real.dtype).tiny
    image = physics.sens_reduce(kspace[None], maps[None]) / physics.rss(maps, 0).square().clamp_min(
        tiny
    )
    return kspace + physics.sens_expand(windows * (value - image), maps[None])


def _groups(corners: torch.Tensor, lattice, size: int, stride: int) -> list[torch.Tensor]:
    """Indices of the corners reconstructed together: one each, or with `lattice` = (dr, dc)
    all corners with the same (row mod dr, col mod dc)."""
    if lattice is None:
        return list(torch.arange(len(corners)).split(1))
    spacing = tuple(int(d) for d in lattice)
    if len(spacing) != 2 or any(d <= size or d % stride for d in spacing):
        raise ValueError(
            f"lattice must be two spacings (rows, cols) that are multiples of stride {stride} "
            f"and larger than size {size}, got {lattice!r}"
        )
    keys = (corners[:, 0] % spacing[0]) * spacing[1] + corners[:, 1] % spacing[1]
    return [torch.nonzero(keys == key).flatten() for key in keys.unique()]


def small_feature_map(
    recon,
    kspace: torch.Tensor,
    mask: torch.Tensor,
    *,
    size: int,
    stride: int = 1,
    value: float | None = None,
    mode: str = "replace",
    maps: torch.Tensor | None = None,
    lattice: tuple[int, int] | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> SmallFeatureResult:
    """Heat map of the reconstruction error of a bright `size` x `size` window, slid with `stride`.

    `kspace` fully sampled complex `(C, H, W)` of one slice, `mask` a column mask broadcastable to
    `(1, C, H, W)`, `maps` coil maps `(C, H, W)` for "replace" (None: `data_maps`).
    Windows cover the centre crop at `recon.image_size`. With `lattice` = (dr, dc) one
    reconstruction carries every window of a lattice of that spacing (dr, dc multiples of
    `stride`, larger than `size`), so (dr / stride) (dc / stride) reconstructions cover the map:
    the way to afford maps of slow methods (l1, ConvDecoder), at the price of crosstalk between
    windows (aliasing runs along the undersampled columns: keep dc large). `batch_size` counts
    reconstructions.
    """
    if not (isinstance(kspace, torch.Tensor) and kspace.is_complex() and kspace.ndim == 3):
        raise ValueError(
            f"kspace must be one slice's complex k-space (C, H, W), got "
            f"{tuple(getattr(kspace, 'shape', ()))} {getattr(kspace, 'dtype', '')}"
        )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    kspace, mask, maps = devices.to_model(recon, kspace, mask, maps)
    full, crop = tuple(kspace.shape[-2:]), output_size(recon, kspace[None])
    if not (isinstance(size, int) and 1 <= size <= min(crop)):
        raise ValueError(
            f"size must be an integer in [1, {min(crop)}] (the image is {crop[0]}x{crop[1]}), "
            f"got {size!r}"
        )
    if not (isinstance(stride, int) and stride >= 1):
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    kspace = kspace.to(torch.complex64)
    physics.check_mask(mask, kspace[None])
    if torch.broadcast_shapes(mask.shape, kspace[None].shape) != kspace[None].shape:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} must broadcast to {tuple(kspace[None].shape)}"
        )
    target = physics.rss_crop(kspace[None], crop)[0]
    if mode == "replace":
        maps = data_maps(kspace) if maps is None else maps.to(kspace)
        if maps.shape != kspace.shape:
            raise ValueError(
                f"maps must have the k-space's shape {tuple(kspace.shape)}, got {tuple(maps.shape)}"
            )
        default = target.max().item()
    else:
        default = target.max().item() / 6
    value = default if value is None else float(value)
    rows = torch.arange(0, crop[0] - size + 1, stride)
    cols = torch.arange(0, crop[1] - size + 1, stride)
    corners = torch.cartesian_prod(rows, cols)  # (P, 2): (row, col) on the target
    groups = _groups(corners, lattice, size, stride)
    top, left = (full[0] - crop[0]) // 2, (full[1] - crop[1]) // 2
    errors = torch.empty(len(corners))
    with torch.no_grad():
        for start in tqdm(
            range(0, len(groups), batch_size), desc="small features", disable=not progress
        ):
            chunk = groups[start : start + batch_size]
            windows = torch.zeros(len(chunk), *full, dtype=torch.bool)
            for g, group in enumerate(chunk):
                for r0, c0 in corners[group].tolist():
                    windows[g, top + r0 : top + r0 + size, left + c0 : left + c0 + size] = True
            featured = feature_kspace(
                kspace, windows.to(kspace.device), value, mode=mode, maps=maps
            )
            truth = physics.rss_crop(featured, crop)
            out = recon(physics.apply_mask(featured, mask), mask)
            diff = ((standardise(out) - standardise(truth)) ** 2).cpu()
            for g, group in enumerate(chunk):
                for index, (r0, c0) in zip(group.tolist(), corners[group].tolist(), strict=True):
                    errors[index] = diff[g, r0 : r0 + size, c0 : c0 + size].mean()
    errors = errors.view(len(rows), len(cols))
    return SmallFeatureResult(errors=errors, rows=rows, cols=cols, size=size, value=value)
