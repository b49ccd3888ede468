"""Regions of interest on the target image: boxes `(x, y, width, height)` and boolean masks.

A box is given in pixels of the (unflipped) target image: `x` is the first column, `y` the
first row, and the box covers rows y..y+height-1 and columns x..x+width-1. fastMRI+ rows are
stored flipped up-down; `mrirobust.data` unflips them before they reach this module.
Boxes are a `(B, 4)` integer tensor (one per image) or a single `(4,)` box for all images.
"""

from __future__ import annotations

import torch


def as_boxes(boxes, batch: int, size: tuple[int, int], name: str = "region") -> torch.Tensor:
    """Validate `boxes` against an image of `size` = (h, w) and return a `(batch, 4)` long tensor.

    Raises ValueError naming `name` for empty boxes or boxes that leave the image.
    """
    boxes = torch.as_tensor(boxes, dtype=torch.long)
    if boxes.ndim == 1:
        boxes = boxes.unsqueeze(0).expand(batch, 4)
    if boxes.shape != (batch, 4):
        raise ValueError(
            f"{name} must be one box (x, y, width, height) or a ({batch}, 4) tensor of boxes, "
            f"got shape {tuple(boxes.shape)}"
        )
    h, w = size
    x, y, bw, bh = boxes.unbind(-1)
    if (bw <= 0).any() or (bh <= 0).any():
        raise ValueError(
            f"{name}: every box needs width >= 1 and height >= 1, got {boxes.tolist()}"
        )
    if (x < 0).any() or (y < 0).any() or (x + bw > w).any() or (y + bh > h).any():
        raise ValueError(
            f"{name}: boxes {boxes.tolist()} leave the {h}x{w} image "
            f"(valid: 0 <= x, x + width <= {w}, 0 <= y, y + height <= {h})"
        )
    return boxes


def box_mask(boxes, size: tuple[int, int], batch: int | None = None) -> torch.Tensor:
    """Boolean masks `(B, h, w)` that are True inside each box."""
    boxes = torch.as_tensor(boxes, dtype=torch.long)
    batch = batch if batch is not None else (boxes.shape[0] if boxes.ndim == 2 else 1)
    boxes = as_boxes(boxes, batch, size)
    h, w = size
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    x, y, bw, bh = (v.view(-1, 1, 1) for v in boxes.unbind(-1))
    return (rows >= y) & (rows < y + bh) & (cols >= x) & (cols < x + bw)


def as_region_mask(region, batch: int, size: tuple[int, int], name: str = "region") -> torch.Tensor:
    """A region given as boxes or as a boolean mask -> boolean mask `(batch, h, w)`.

    `None` means the whole image. A mask must be `(h, w)` or `(batch, h, w)` and non-empty.
    """
    if region is None:
        return torch.ones(batch, *size, dtype=torch.bool)
    region = torch.as_tensor(region)
    if region.dtype == torch.bool:
        if region.shape[-2:] != tuple(size) or region.ndim not in (2, 3):
            raise ValueError(
                f"{name} mask must have shape {tuple(size)} or ({batch}, {size[0]}, {size[1]}), "
                f"got {tuple(region.shape)}"
            )
        mask = region.expand(batch, *size)
        if not mask.flatten(1).any(dim=1).all():
            raise ValueError(f"{name} mask is empty for at least one image")
        return mask
    return box_mask(region, size, batch)
