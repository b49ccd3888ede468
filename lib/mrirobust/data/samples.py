"""Annotated samples: every fastMRI+ box of a validation slice is one sample, with a seeded
random column mask per (seed, file, slice).

A sample names its slice (file, index), box and the file's k-space geometry; the slice's k-space
and target are read when a batch needs them (`Sample.load`, `stack`). So the samples of a whole
validation split (~1,600 knee slices of ~28 MB at paper scale) hold no image data, and a run
that attacks them batch by batch (`batches`) holds one batch of slices at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from mrirobust import physics, scales
from mrirobust.data.annotations import check_annotations, scale_annotations
from mrirobust.data.fastmri_io import (
    EXPECTED,
    Slice,
    kspace_shape,
    parse_header,
    read_slice,
    split_dir,
    split_files,
)
from mrirobust.data.roots import ensure_embedded
from mrirobust.storage import open_hdf5


@dataclass
class Sample:
    """One annotated box of one validation slice, without its image data (`load` reads it)."""

    path: Path  # the fastMRI file
    slice: int
    box: torch.Tensor  # (4,) x, y, width, height on the target
    label: str
    shape: tuple[int, int, int]  # k-space (coils, H, W) of every slice of the file
    acquired: tuple[int, int]  # first and last acquired column (header)

    @property
    def fname(self) -> str:
        return self.path.stem

    @property
    def sample_id(self) -> str:
        x, y, w, h = self.box.tolist()
        return f"{self.fname}/{self.slice}/{x},{y},{w},{h}"

    def load(self) -> Slice:
        """The slice's fully sampled k-space `(C, H, W)` and target `(h, w)`, read from the
        file."""
        return read_slice(self.path, self.slice)

    def row(self, acceleration: int) -> dict:
        """The columns that identify this sample in a result table."""
        return {
            "sample": self.sample_id,
            "file": self.fname,
            "slice": self.slice,
            "label": self.label,
            "acceleration": acceleration,
        }


def file_geometry(path: Path) -> tuple[tuple[int, int, int], tuple[int, int]]:
    """k-space shape `(C, H, W)` and acquired columns of a fastMRI file, from its headers only."""
    with open_hdf5(path, EXPECTED) as hf:
        if "ismrmrd_header" not in hf:
            raise KeyError(f"{path}: dataset 'ismrmrd_header' is missing")
        header = parse_header(hf["ismrmrd_header"][()], f"{path}: 'ismrmrd_header'")
    return kspace_shape(path), header.acquired


def annotated_samples(
    scale: str,
    max_samples: int | None = None,
    labels: Sequence[str] | None = None,
    anatomy: str = "knee",
) -> list[Sample]:
    """Every usable fastMRI+ box of `anatomy`'s validation split at `scale`, in file/slice order
    (no image data: see the module docstring).

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
    geometry = {name: file_geometry(files[name]) for name in boxes["file"].unique()}
    return [
        Sample(
            files[row.file],
            int(row.slice),
            torch.tensor([row.x, row.y, row.width, row.height], dtype=torch.long),
            row.label,
            *geometry[row.file],
        )
        for row in boxes.itertuples(index=False)
    ]


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
        sample.fname, sample.slice, sample.shape[-1], sample.acquired, acceleration, seed
    )


def batches(samples: Sequence[Sample], batch_size: int):
    """Consecutive runs of at most `batch_size` samples whose k-space shapes agree."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    group: list[Sample] = []
    for sample in samples:
        if group and (len(group) == batch_size or sample.shape != group[0].shape):
            yield group
            group = []
        group.append(sample)
    if group:
        yield group


def stack(group: Sequence[Sample], acceleration: int, seed: int):
    """k-space `(B, C, H, W)`, masks `(B, 1, 1, W)`, targets `(B, h, w)` and boxes `(B, 4)` of
    samples of one k-space shape (a group of `batches`), reading each distinct slice once."""
    shapes = {s.shape for s in group}
    if len(shapes) != 1:
        raise ValueError(
            "stack needs samples of one k-space shape (group them with `batches`), got "
            + ", ".join(f"{s.fname} {s.shape}" for s in group)
        )
    slices: dict[tuple[Path, int], Slice] = {}
    for s in group:
        if (s.path, s.slice) not in slices:
            slices[s.path, s.slice] = s.load()
    read = [slices[s.path, s.slice] for s in group]
    return (
        torch.stack([x.kspace for x in read]),
        torch.cat([sample_mask(s, acceleration, seed) for s in group]),
        torch.stack([x.target for x in read]),
        torch.stack([s.box for s in group]),
    )
