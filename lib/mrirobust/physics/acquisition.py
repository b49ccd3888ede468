"""The acquisition: what was measured and how, as one object with its forward operator.

y = A x = M F S x for an image x, coil sensitivities S, the centred orthonormal FFT F and a
sampling mask M. Multi-coil k-space is `(B, C, H, W)`; a weighted series (T1/T2 mapping) adds a
weighting axis, `(B, T, C, H, W)`, with the inversion or echo time of each weighting in `times`
and, where the mask differs per weighting, a mask `(B, T, 1, 1, W)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mrirobust.physics.coils import rss_crop, sens_expand, sens_reduce
from mrirobust.physics.masks import apply_mask
from mrirobust.physics.transforms import rotate_kspace

__all__ = ["Acquisition"]


@dataclass(frozen=True)
class Acquisition:
    """Mask `M` (boolean, broadcastable to the k-space), image size `(h, w)` of the cropped
    reconstruction, optional coil maps `S` `(B, C, H, W)` and optional weighting `times` `(B, T)`
    (ms).

    `A(x)` = M F S x and `A_adjoint(y)` = S^H F^H M y need the maps; `measure` and `zero_filled`
    do not. For a weighted series the maps are shared by all weightings.
    """

    mask: torch.Tensor
    image_size: tuple[int, int]
    maps: torch.Tensor | None = None
    times: torch.Tensor | None = None

    def __post_init__(self):
        h, w = self.image_size
        if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
            raise ValueError(f"image_size must be two positive integers, got {self.image_size}")
        if self.maps is not None and (not self.maps.is_complex() or self.maps.ndim != 4):
            raise ValueError(
                f"maps must be complex (B, coils, H, W), got {self.maps.dtype} "
                f"{tuple(self.maps.shape)}"
            )
        if self.times is not None and self.times.ndim != 2:
            raise ValueError(f"times must be (B, weightings), got {tuple(self.times.shape)}")

    @property
    def weighted(self) -> bool:
        """True for a weighted series, k-space `(B, T, C, H, W)`."""
        return self.times is not None

    def _coil_maps(self) -> torch.Tensor:
        if self.maps is None:
            raise ValueError("this acquisition has no coil maps; A and A_adjoint need them")
        return self.maps.unsqueeze(1) if self.weighted else self.maps

    def measure(self, kspace: torch.Tensor) -> torch.Tensor:
        """M k: the sampled part of fully sampled k-space."""
        return apply_mask(kspace, self.mask)

    def A(self, image: torch.Tensor) -> torch.Tensor:
        """M F S x for a complex image `(B, [T,] H, W)`; returns k-space `(B, [T,] C, H, W)`."""
        return self.measure(sens_expand(image, self._coil_maps()))

    def A_adjoint(self, kspace: torch.Tensor) -> torch.Tensor:
        """S^H F^H M y for k-space `(B, [T,] C, H, W)`; returns a complex image `(B, [T,] H, W)`."""
        return sens_reduce(self.measure(kspace), self._coil_maps())

    def normal(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """x ↦ AᴴA x for a complex image `(B, H, W)` (not a weighted series).

        Along an axis where M is constant, F's 1-D factor cancels with its inverse, so only the
        axes M varies along are transformed (W for column masks: half the FFT work). The
        centring moves out of the coil sum: with P = ifftshift over those axes,
        Fᴴ_c M F_c = Pᵀ Fᴴ P(M) F P, so AᴴA x = Pᵀ Σᵢ P(Sᵢ)ᴴ Fᴴ P(M) F (P(Sᵢ) · P x). The shifted
        maps and mask are computed once, here, for every call of the returned operator.
        """
        if self.weighted:
            raise ValueError("the normal operator of a weighted series is not supported")
        mask = self.mask
        dims = (-2, -1) if mask.ndim > 1 and mask.shape[-2] > 1 else (-1,)
        maps = torch.fft.ifftshift(self._coil_maps(), dim=dims)
        maps_conj = maps.conj().resolve_conj()
        mask = torch.fft.ifftshift(mask.to(maps.real.dtype), dim=dims)

        def apply(x: torch.Tensor) -> torch.Tensor:
            # in-place products on the FFT outputs (which their backward does not need) save two
            # coil-sized allocations per call
            coils = maps * torch.fft.ifftshift(x, dim=dims).unsqueeze(1)
            kspace = torch.fft.fftn(coils, dim=dims, norm="ortho").mul_(mask)
            image = torch.fft.ifftn(kspace, dim=dims, norm="ortho").mul_(maps_conj).sum(dim=1)
            return torch.fft.fftshift(image, dim=dims)

        return apply

    def zero_filled(self, kspace: torch.Tensor) -> torch.Tensor:
        """RSS of F^H M y, cropped to `image_size`: `(B, [T,] h, w)` magnitude."""
        return rss_crop(self.measure(kspace), self.image_size)

    def rotated(self, kspace: torch.Tensor, angles) -> torch.Tensor:
        """The k-space that this acquisition would measure of the object rotated by `angles`
        degrees (one per slice): M F R F^H k for fully sampled multi-coil k-space `(B, C, H, W)`."""
        if self.weighted:
            raise ValueError("rotating a weighted series is not supported")
        return self.measure(rotate_kspace(kspace, angles))
