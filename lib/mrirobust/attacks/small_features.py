"""Artificial small-feature recovery (Darestani et al. 2021, section 6).

For every window position p (top-left corner on the target image, moved by `stride`):

    x_p = image with the k x k window at p filled with `value` (default max |image|),
    y_p = M F(S x_p)  (measurement regenerated through the coil maps S),
    error(p) = mean over the window of (n(recon(y_p)) - n(crop(RSS(F^-1 F(S x_p)))))^2,

where n(u) = (u - mean u) / std u standardises each whole image, so the error does not depend
on the method's intensity scale. Positions are reconstructed `batch_size` at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from mrirobust import physics


@dataclass
class SmallFeatureResult:
    """Window error per position `(len(rows), len(cols))`; rows/cols are the windows' top-left
    corners on the target image, `size` the window side."""

    errors: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    size: int


def _standardise(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(-2, -1), keepdim=True)
    return (x - mean) / x.std(dim=(-2, -1), keepdim=True).clamp_min(1e-30)


def small_feature_map(
    recon,
    image: torch.Tensor,
    sens: torch.Tensor,
    mask: torch.Tensor,
    *,
    size: int,
    stride: int = 1,
    value: float | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> SmallFeatureResult:
    """Heat map of the reconstruction error of a bright `size` x `size` window, slid with `stride`.

    `image` complex `(H, W)` at the k-space size, `sens` coil maps `(C, H, W)`, `mask` a column
    mask broadcastable to `(1, C, H, W)`. Windows cover the centre crop at `recon.image_size`.
    """
    if image.ndim != 2 or sens.ndim != 3 or tuple(sens.shape[-2:]) != tuple(image.shape):
        raise ValueError(
            f"image must be (H, W) and sens (C, H, W) with the same H, W; got image "
            f"{tuple(image.shape)} and sens {tuple(sens.shape)}"
        )
    full, crop = tuple(image.shape), tuple(recon.image_size)
    if not (isinstance(size, int) and 1 <= size <= min(crop)):
        raise ValueError(f"size must be an integer in [1, {min(crop)}], got {size!r}")
    if not (isinstance(stride, int) and stride >= 1):
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    image = image.to(torch.complex64)
    sens = sens.to(image).unsqueeze(0)
    physics.check_mask(mask, sens)
    if torch.broadcast_shapes(mask.shape, sens.shape) != sens.shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} must broadcast to {tuple(sens.shape)}")
    value = image.abs().max().item() if value is None else float(value)
    top, left = (full[0] - crop[0]) // 2, (full[1] - crop[1]) // 2
    rows = torch.arange(0, crop[0] - size + 1, stride)
    cols = torch.arange(0, crop[1] - size + 1, stride)
    corners = torch.cartesian_prod(rows, cols)  # (P, 2): (row, col) on the target
    r = torch.arange(full[0]).view(1, -1, 1)
    c = torch.arange(full[1]).view(1, 1, -1)
    errors = []
    with torch.no_grad():
        for chunk in tqdm(corners.split(batch_size), desc="small features", disable=not progress):
            y0 = chunk[:, 0].view(-1, 1, 1) + top
            x0 = chunk[:, 1].view(-1, 1, 1) + left
            window = (r >= y0) & (r < y0 + size) & (c >= x0) & (c < x0 + size)  # (n, H, W)
            window = window.to(image.device)
            featured = torch.where(window, torch.full_like(image, value), image)
            kspace = physics.sens_expand(featured, sens.expand(len(chunk), -1, -1, -1))
            truth = physics.rss_crop(kspace, crop)
            out = recon(physics.apply_mask(kspace, mask), mask)
            diff = (_standardise(out) - _standardise(truth)) ** 2
            inside = physics.center_crop(window, crop).to(diff.dtype)
            errors.append((diff * inside).sum(dim=(-2, -1)) / size**2)
    errors = torch.cat(errors).view(len(rows), len(cols))
    return SmallFeatureResult(errors=errors, rows=rows, cols=cols, size=size)
