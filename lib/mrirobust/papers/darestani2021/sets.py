"""Darestani et al. 2021's evaluation sets, read one batch at a time.

A `SliceSet` names its slices (validation files and slice indices, or tensors in memory) and
yields `batches`: runs of at most n consecutive slices whose k-space shapes agree. Real fastMRI
files differ in width (368, 372, ...) and coil count (knee 15 or 16, brain 4 to 20), so slices
of different files are stacked only when their shapes agree, and at most one batch of k-space
is in memory: a run's peak memory grows with its batch, not with its set (fastMRI-A's pool has
995 slices, ~28 GB of k-space).

Masks are the seeded random column masks of every paper in this project
(`data.samples.slice_mask`: seed = crc32("seed/file/slice"), fastMRI centre fraction); targets
are `data.read_slice`'s (narrow brain images cropped to (W, W), as `Reconstructor.output_size`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from mrirobust import data, physics, scales
from mrirobust.data import samples
from mrirobust.data.fastmri_io import acquisition, kspace_shape, num_slices, split_files


@dataclass
class Batch:
    """Slices of one k-space shape: fully sampled k-space `(B, C, H, W)`, masks `(B, 1, 1, W)`,
    targets `(B, h, w)`, "file/slice" ids and, for annotated sets, boxes `(B, 4)` (x, y, width,
    height on the target)."""

    kspace: torch.Tensor
    mask: torch.Tensor
    target: torch.Tensor
    ids: list[str]
    boxes: torch.Tensor | None = None


# one slice: k-space (C, H, W), mask (1, 1, 1, W), target (h, w)
Reader = Callable[[int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


class SliceSet:
    """Named slices read on demand (module docstring): `ids`, k-space `shapes` `(C, H, W)`,
    `read(i)` of slice i and optional `boxes` `(N, 4)`."""

    def __init__(
        self,
        ids: Sequence[str],
        shapes: Sequence[tuple[int, int, int]],
        read: Reader,
        boxes: torch.Tensor | None = None,
    ):
        if len(ids) != len(shapes) or (boxes is not None and len(boxes) != len(ids)):
            raise ValueError(
                f"ids, shapes and boxes must name the same slices, got {len(ids)}, "
                f"{len(shapes)} and {None if boxes is None else len(boxes)}"
            )
        self.ids, self.shapes = list(ids), [tuple(s) for s in shapes]
        self._read, self.boxes = read, boxes

    @classmethod
    def from_files(
        cls,
        refs: Sequence[tuple[Path, int]],
        acceleration: int,
        seed: int,
        boxes: torch.Tensor | None = None,
    ) -> SliceSet:
        """Slices `refs` (path, index) of fastMRI files, masked at `acceleration` with `seed`."""

        def read(i: int):
            s = data.read_slice(*refs[i])
            width = s.kspace.shape[-1]
            mask = samples.slice_mask(s.fname, s.index, width, s.acquired, acceleration, seed)
            return s.kspace, mask, s.target

        ids = [f"{Path(path).stem}/{index}" for path, index in refs]
        shapes = [kspace_shape(path) for path, _ in refs]
        return cls(ids, shapes, read, boxes)

    @classmethod
    def from_tensors(
        cls,
        kspace: torch.Tensor | Sequence[torch.Tensor],
        mask: torch.Tensor | Sequence[torch.Tensor],
        target: torch.Tensor | Sequence[torch.Tensor],
        ids: Sequence[str],
        boxes: torch.Tensor | None = None,
    ) -> SliceSet:
        """Slices in memory: k-space `(N, C, H, W)` or N tensors `(C, H, W)` of any shapes, masks
        `(N or 1, 1, 1, W)` or N masks `(1, 1, 1, W)`, targets `(N, h, w)` or N `(h, w)`."""
        kspace, target = list(kspace), list(target)
        masks = [m[None] if m.ndim == 3 else m for m in mask]
        if len(masks) == 1:
            masks = masks * len(kspace)
        if not len(kspace) == len(masks) == len(target) == len(ids):
            raise ValueError(
                f"kspace, mask, target and ids must hold the same slices, got {len(kspace)}, "
                f"{len(masks)}, {len(target)} and {len(ids)}"
            )
        return cls(
            ids,
            [tuple(k.shape) for k in kspace],
            lambda i: (kspace[i], masks[i], target[i]),
            boxes,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, size: int) -> Iterator[Batch]:
        """Runs of at most `size` consecutive slices of one k-space shape, in set order."""
        if not (isinstance(size, int) and size >= 1):
            raise ValueError(f"batch size must be an integer >= 1, got {size!r}")
        run: list[int] = []
        for i, shape in enumerate(self.shapes):
            if run and (len(run) == size or shape != self.shapes[run[0]]):
                yield self._batch(run)
                run = []
            run.append(i)
        if run:
            yield self._batch(run)

    def _batch(self, indices: list[int]) -> Batch:
        kspace, masks, targets = zip(*(self._read(i) for i in indices), strict=True)
        return Batch(
            torch.stack(kspace),
            torch.cat(masks),
            torch.stack(targets),
            [self.ids[i] for i in indices],
            None if self.boxes is None else self.boxes[indices],
        )

    def first(self) -> Batch:
        """The first slice as a batch of one."""
        return next(self.batches(1))

    def subset(self, ids: Sequence[str]) -> SliceSet:
        """The slices `ids`, in that order."""
        unknown = sorted(set(ids) - set(self.ids))
        if unknown:
            raise ValueError(f"ids {unknown} are not in the set")
        where = [self.ids.index(i) for i in ids]
        return SliceSet(
            ids,
            [self.shapes[i] for i in where],
            lambda i: self._read(where[i]),
            None if self.boxes is None else self.boxes[where],
        )


def _check_count(n) -> None:
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1 (the evaluation set is empty), got {n!r}")


def _spread(count: int, n: int) -> list[int]:
    """n indices spread evenly over range(count)."""
    return torch.linspace(0, count - 1, n).round().long().tolist()


def validation_slices(
    scale: str,
    n: int,
    *,
    anatomy: str = "knee",
    contrast: str | None = "CORPD_FBK",
    acceleration: int = 4,
    seed: int = 0,
    band: tuple[float, float] = (0.2, 0.8),
) -> SliceSet:
    """`n` validation slices of `anatomy` with acquisition `contrast` (None: any), spread evenly
    over the (file, slice) order of each volume's central `band` of slices (slices 2-7 of 10;
    the edge slices are nearly empty; at least one slice of every volume, the central one of a
    2-slice file), from the scale's first `max_files` files."""
    _check_count(n)
    if acceleration not in physics.CENTER_FRACTIONS:
        raise ValueError(
            f"acceleration must be one of {sorted(physics.CENTER_FRACTIONS)}, got {acceleration}"
        )
    data.ensure_embedded(scale, progress=False)  # generated data written when missing
    directory = data.split_dir(scale, anatomy, "val")
    files = split_files(directory, scales.resolve(scale, "data")["max_files"])
    candidates = []
    for path in files:
        if contrast is None or acquisition(path) == contrast:
            count = num_slices(path)
            first = min(math.ceil(band[0] * count), count - 1)  # one slice at least
            stop = max(math.floor(band[1] * count), first + 1)
            candidates += [(path, i) for i in range(first, stop)]
    if len(candidates) < n:
        raise ValueError(
            f"{directory}: {len(candidates)} {contrast or 'any-contrast'} slices in the central "
            f"band {band}, fewer than n = {n}"
        )
    refs = [candidates[i] for i in _spread(len(candidates), n)]
    return SliceSet.from_files(refs, acceleration, seed)


def annotated_slices(
    scale: str,
    n: int,
    *,
    labels: Sequence[str] = ("Meniscus",),
    acceleration: int = 4,
    seed: int = 0,
) -> SliceSet:
    """Fig. 8's real small features: `n` distinct knee validation slices with a fastMRI+ box
    whose label contains one of `labels` (case-insensitive), spread over the (file, slice)
    order, each with its first such box (`data.samples.annotated_samples`)."""
    _check_count(n)
    firsts = {}
    for sample in samples.annotated_samples(scale, labels=list(labels)):
        firsts.setdefault((sample.fname, sample.slice), sample)
    if len(firsts) < n:
        raise ValueError(
            f"{scale}: {len(firsts)} knee validation slices with a box labelled {list(labels)}, "
            f"fewer than n = {n}"
        )
    chosen = [list(firsts.values())[i] for i in _spread(len(firsts), n)]
    directory = data.split_dir(scale, "knee", "val")
    refs = [(directory / f"{s.fname}.h5", s.slice) for s in chosen]
    boxes = torch.stack([s.box for s in chosen])
    return SliceSet.from_files(refs, acceleration, seed, boxes)
