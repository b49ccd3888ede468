"""Sampling masks and input checks: seeded fastmri column masks, their centre fractions, ACS.

Masks are boolean and broadcast to k-space `(B, C, H, W)`; a column mask selects whole
phase-encoding columns (the last dimension).
"""

from __future__ import annotations

import torch

__all__ = [
    "CENTER_FRACTIONS",
    "center_fraction",
    "MASK_KINDS",
    "apply_mask",
    "check_kspace",
    "check_mask",
    "column_mask",
    "column_mask_of",
    "acs_width",
]

CENTER_FRACTIONS = {4: 0.08, 8: 0.04}  # fastMRI's random masks (also Morshuis et al.'s)


def center_fraction(acceleration: int) -> float:
    """The fully sampled centre fraction of the fastMRI mask at `acceleration`
    (`CENTER_FRACTIONS`); another acceleration raises a ValueError listing the valid ones."""
    if acceleration not in CENTER_FRACTIONS:
        raise ValueError(
            f"acceleration {acceleration!r} not supported; valid: {sorted(CENTER_FRACTIONS)}"
        )
    return CENTER_FRACTIONS[acceleration]


def apply_mask(kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """M(k) = k ⊙ M for a boolean (or 0/1) mask broadcastable to `kspace`."""
    return kspace * mask.to(kspace.real.dtype)


def check_kspace(kspace: torch.Tensor, name: str = "kspace") -> None:
    """Raise a ValueError naming `name` unless it is finite complex `(B, C, H, W)` k-space."""
    if not isinstance(kspace, torch.Tensor) or not kspace.is_complex():
        got = getattr(kspace, "dtype", type(kspace).__name__)
        raise ValueError(f"{name} must be a complex torch tensor (complex64), got {got}")
    if kspace.ndim != 4:
        raise ValueError(f"{name} must have shape (B, coils, H, W), got {tuple(kspace.shape)}")
    if not torch.isfinite(torch.view_as_real(kspace)).all():
        raise ValueError(f"{name} contains NaN or Inf values")


def check_mask(mask: torch.Tensor, kspace: torch.Tensor, name: str = "mask") -> None:
    """Raise a ValueError naming `name` unless `mask` broadcasts to `kspace`'s shape."""
    try:
        torch.broadcast_shapes(mask.shape, kspace.shape)
    except RuntimeError as err:
        raise ValueError(
            f"{name} of shape {tuple(mask.shape)} does not broadcast to k-space "
            f"{tuple(kspace.shape)} (expected e.g. (B or 1, 1, 1, W))"
        ) from err


MASK_KINDS = ("random", "equispaced_fraction")


def column_mask(
    num_cols: int,
    acceleration: int,
    center_fraction: float,
    seed: int,
    kind: str = "random",
    acquired: tuple[int, int] | None = None,
) -> torch.Tensor:
    """A seeded boolean phase-encoding mask of shape `(num_cols,)` from fastmri's mask functions.

    `kind` is fastmri's `RandomMaskFunc` ("random") or `EquispacedMaskFractionFunc`
    ("equispaced_fraction"). Columns outside `acquired` = (first, last) (inclusive, from the
    ISMRMRD header) are never sampled, as in fastmri's VarNet transform.
    """
    from fastmri.data import subsample

    funcs = {
        "random": subsample.RandomMaskFunc,
        "equispaced_fraction": subsample.EquispacedMaskFractionFunc,
    }
    if kind not in funcs:
        raise ValueError(f"unknown mask kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    if not (isinstance(acceleration, int) and acceleration >= 1):
        raise ValueError(f"acceleration must be an integer >= 1, got {acceleration!r}")
    if not 0.0 < center_fraction <= 1.0:
        raise ValueError(f"center_fraction must lie in (0, 1], got {center_fraction!r}")
    mask_func = funcs[kind](center_fractions=[center_fraction], accelerations=[acceleration])
    # fastmri's offset for equispaced masks is drawn from its own seeded rng as well
    mask, _ = mask_func((1, num_cols, 1), seed=seed)
    mask = mask.reshape(num_cols).to(torch.bool)
    if acquired is not None:
        first, last = acquired
        if not 0 <= first <= last < num_cols:
            raise ValueError(
                f"acquired columns {acquired} must satisfy 0 <= first <= last < {num_cols}"
            )
        mask[:first] = False
        mask[last + 1 :] = False
    return mask


def column_mask_of(mask: torch.Tensor, kspace: torch.Tensor) -> torch.Tensor:
    """The boolean column mask `(B, 1, 1, W)` of a mask broadcastable to `kspace` (B, C, H, W).

    Raises a ValueError when the mask varies along coils or rows (VarNet needs column masks).
    """
    full = torch.broadcast_to(mask.to(torch.bool), kspace.shape)
    columns = full[:, :1, :1, :]
    if not torch.equal(full, columns.expand_as(full)):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} must select whole phase-encoding columns "
            "(the same phase-encoding columns for every coil and row)"
        )
    return columns


def acs_width(columns: torch.Tensor) -> int:
    """Width of the contiguous sampled block around the centre column of a `(W,)` mask."""
    columns = columns.to(torch.bool).cpu()
    centre = columns.numel() // 2
    if not columns[centre]:
        raise ValueError("the mask does not sample the centre column (no ACS region for ESPIRiT)")
    left = centre
    while left > 0 and columns[left - 1]:
        left -= 1
    right = centre
    while right < columns.numel() - 1 and columns[right + 1]:
        right += 1
    return right - left + 1
