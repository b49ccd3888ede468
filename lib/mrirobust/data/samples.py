"""Annotated samples: every fastMRI+ box of a validation slice is one sample, with the slice's
fully sampled k-space and target, and a seeded random column mask per (seed, file, slice)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mrirobust import physics, scales
from mrirobust.data.annotations import check_annotations, scale_annotations
from mrirobust.data.fastmri_io import read_slice, split_dir, split_files
from mrirobust.data.roots import ensure_embedded


@dataclass
class Sample:
    """One annotated box of one validation slice."""

    kspace: torch.Tensor  # (C, H, W) fully sampled
    target: torch.Tensor  # (h, w) RSS target
    box: torch.Tensor  # (4,) x, y, width, height on the target
    label: str
    fname: str
    slice: int
    acquired: tuple[int, int]

    @property
    def sample_id(self) -> str:
        x, y, w, h = self.box.tolist()
        return f"{self.fname}/{self.slice}/{x},{y},{w},{h}"

    def row(self, acceleration: int) -> dict:
        """The columns that identify this sample in a result table."""
        return {
            "sample": self.sample_id,
            "file": self.fname,
            "slice": self.slice,
            "label": self.label,
            "acceleration": acceleration,
        }


def annotated_samples(
    scale: str,
    max_samples: int | None = None,
    labels: Sequence[str] | None = None,
    anatomy: str = "knee",
) -> list[Sample]:
    """Every usable fastMRI+ box of `anatomy`'s validation split at `scale`, in file/slice order.

    `labels` keeps boxes whose label contains one of the given strings (case-insensitive);
    `max_samples` keeps n boxes spread evenly over that order (so a small sample spans the
    volumes). Embedded data is generated first when missing.
    """
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"max_samples must be >= 1 or None, got {max_samples!r}")
    ensure_embedded(scale, progress=False)
    directory = split_dir(scale, anatomy, "val")
    files = split_files(directory, scales.resolve(scale, "data")["max_files"])
    files = {path.stem: path for path in files}
    boxes = scale_annotations(scale, anatomy)
    check_annotations(boxes, directory)
    if labels:
        pattern = "|".join(labels)
        boxes = boxes[boxes["label"].str.contains(pattern, case=False, regex=True)]
    boxes = boxes[boxes["file"].isin(list(files))].sort_values(["file", "slice", "x", "y"])
    if boxes.empty:
        raise ValueError(
            f"no annotated {anatomy} validation slices at scale {scale!r} in {directory}"
        )
    if max_samples is not None and max_samples < len(boxes):
        picks = torch.linspace(0, len(boxes) - 1, max_samples).round().long()
        boxes = boxes.iloc[picks.tolist()]
    samples, cache = [], {}
    for row in boxes.itertuples(index=False):
        key = (row.file, row.slice)
        if key not in cache:
            cache[key] = read_slice(files[row.file], row.slice)
        s = cache[key]
        box = torch.tensor([row.x, row.y, row.width, row.height], dtype=torch.long)
        samples.append(Sample(s.kspace, s.target, box, row.label, s.fname, s.index, s.acquired))
    return samples


def slice_mask(
    fname: str, index: int, width: int, acquired, acceleration: int, seed: int = 0
) -> torch.Tensor:
    """The seeded random column mask `(1, 1, 1, W)` of slice `index` of file `fname` at
    `acceleration` (seed = crc32("seed/file/slice"), fastMRI centre fraction, only the
    `acquired` columns): the mask of every paper in this project."""
    mask = physics.column_mask(
        width,
        acceleration,
        physics.center_fraction(acceleration),
        seed=zlib.crc32(f"{seed}/{fname}/{index}".encode()),
        acquired=acquired,
    )
    return mask.view(1, 1, 1, -1)


def sample_mask(sample: Sample, acceleration: int, seed: int = 0) -> torch.Tensor:
    """The seeded random column mask `(1, 1, 1, W)` of `sample` at `acceleration` (`slice_mask`)."""
    return slice_mask(
        sample.fname, sample.slice, sample.kspace.shape[-1], sample.acquired, acceleration, seed
    )


def batches(samples: Sequence[Sample], batch_size: int):
    """Consecutive runs of at most `batch_size` samples whose k-space shapes agree."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    group: list[Sample] = []
    for sample in samples:
        if group and (len(group) == batch_size or sample.kspace.shape != group[0].kspace.shape):
            yield group
            group = []
        group.append(sample)
    if group:
        yield group


def stack(group: Sequence[Sample], acceleration: int, seed: int):
    """k-space `(B, C, H, W)`, masks `(B, 1, 1, W)`, targets `(B, h, w)` and boxes `(B, 4)`."""
    return (
        torch.stack([s.kspace for s in group]),
        torch.cat([sample_mask(s, acceleration, seed) for s in group]),
        torch.stack([s.target for s in group]),
        torch.stack([s.box for s in group]),
    )
