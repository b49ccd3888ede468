"""Training and validation data: the slices of a scale's data set, masked-slice datasets, and
batches of slices that share a k-space shape (real fastMRI files differ in width and coil count,
so slices of different files cannot always be stacked).

Tuning (l1's λ search, early stopping) never sees a scored slice: it uses `tuning_items`, slices
of the training split, while every evaluation scores the validation split."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mrirobust import data, physics, scales


def slices(
    scale: str, split: str, anatomy: str, challenge: str = "multicoil"
) -> list[tuple[Path, int]]:
    """Every (file, slice index) of `anatomy`'s `<challenge>_<split>` folder at `scale` (of its
    first `max_files` files when the data profile sets it; generated data are written first
    when missing)."""
    data.ensure_embedded(scale)
    max_files = scales.resolve(scale, "data")["max_files"]
    return data.list_slices(data.split_dir(scale, anatomy, split, challenge), max_files)


def tuning_items(train_items: Sequence[tuple[Path, int]], count: int) -> list[tuple[Path, int]]:
    """`count` slices of the training split `train_items` for tuning, spread evenly over it:
    the middle slice of each of `count` equal parts, index floor((k + 1/2) n / count), so none is
    the split's first or last slice (the edge of a volume, nearly empty) unless count = n.
    Raises when the split has too few."""
    items = list(train_items)
    if not 0 < count <= len(items):
        raise ValueError(
            f"tuning needs 1 to {len(items)} training slices (the training split's size), "
            f"got count = {count}"
        )
    return [items[(2 * k + 1) * len(items) // (2 * count)] for k in range(count)]


class SliceData(torch.utils.data.Dataset):
    """Masked slices `(y, mask (1, 1, W), target, max)` with seeded random column masks: the
    mask of slice i is seeded by (seed, i) for validation and (seed, i, epoch) for training.
    `fully_sampled` gives the full k-space in place of y (perturbation budgets relative to it
    need it; a Reconstructor masks its input itself); `challenge` is checked against each file
    (`data.read_slice`)."""

    def __init__(
        self,
        items: list[tuple[Path, int]],
        acceleration: int,
        center_fraction: float,
        seed: int,
        training: bool,
        fully_sampled: bool = False,
        challenge: str | None = None,
    ):
        self.items, self.training, self.epoch = items, training, 0
        self.fully_sampled, self.challenge = fully_sampled, challenge
        self.acceleration, self.center_fraction, self.seed = acceleration, center_fraction, seed

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        item = data.read_slice(*self.items[i], self.challenge)
        seed_key = [self.seed, i] + ([self.epoch] if self.training else [])
        seed = int(np.random.SeedSequence(seed_key).generate_state(1)[0])
        width = item.kspace.shape[-1]
        mask = physics.column_mask(
            width, self.acceleration, self.center_fraction, seed, acquired=item.acquired
        ).view(1, 1, width)
        maxval = torch.tensor(float(item.attrs["max"]), dtype=torch.float32)
        kspace = item.kspace if self.fully_sampled else physics.apply_mask(item.kspace, mask)
        return kspace, mask, item.target, maxval


def for_spec(model_spec, split: str, count: int | None = None) -> SliceData:
    """The first `count` (all when None) slices of `split` masked as `model_spec` trains:
    its anatomy, acceleration, centre fraction and seed; training masks change every epoch."""
    items = slices(model_spec.scale, split, model_spec.anatomy)[:count]
    return SliceData(
        items,
        model_spec.acceleration,
        model_spec.center_fraction,
        model_spec.params["seed"],
        training=split == "train",
    )


@functools.lru_cache(maxsize=4096)
def _file_shape(path: Path) -> tuple[int, int, int]:
    return data.fastmri_io.kspace_shape(path)


def item_shapes(items: Sequence[tuple[Path, int]]) -> list[tuple[int, int, int]]:
    """The k-space shape (coils, H, W) of every (file, slice) of `items` (one header read per
    file)."""
    return [_file_shape(Path(path)) for path, _ in items]


def shape_batches(dataset: SliceData, batch_size: int) -> list[list[int]]:
    """The indices of `dataset` in order, cut into runs of at most `batch_size` that share a
    k-space shape (a DataLoader `batch_sampler`; order-preserving, for evaluation)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    batches: list[list[int]] = []
    previous = None
    for i, shape in enumerate(item_shapes(dataset.items)):
        if not batches or shape != previous or len(batches[-1]) == batch_size:
            batches.append([])
        batches[-1].append(i)
        previous = shape
    return batches


class ShuffledShapeBatches(torch.utils.data.Sampler):
    """Training batches of one k-space shape, a new seeded order every epoch (`set_epoch`).

    The indices are shuffled as `DistributedSampler` does (`randperm` seeded by seed + epoch)
    and dealt in turn into one bucket per k-space shape; a bucket holding `batch_size` (the
    global batch) indices is emitted as a batch, and the partial buckets follow at the end. With
    one shape this is exactly `DistributedSampler` + `DataLoader(batch_size)` in one process.
    Under DDP every rank computes the same global batches and takes every `world`-th index of
    each (positions rank, rank + world, ...), so the per-rank batch is batch_size / world;
    partial batches are cut to a multiple of `world` (dropped when shorter than `world`), or
    dropped altogether with `drop_last` (full batches only, e.g. for BatchNorm)."""

    def __init__(
        self,
        dataset: SliceData,
        batch_size: int,
        seed: int,
        world: int = 1,
        rank: int = 0,
        drop_last: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if batch_size % world:
            raise ValueError(
                f"the global batch_size {batch_size} does not divide among {world} processes: "
                f"use a world size that divides it, or a batch_size that is a multiple of {world}"
            )
        self.shapes = item_shapes(dataset.items)
        self.batch_size, self.seed, self.world, self.rank = batch_size, seed, world, rank
        self.drop_last, self.epoch = drop_last, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        """This epoch's batches of dataset indices, before the split among processes."""
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.shapes), generator=gen).tolist()
        buckets: dict[tuple, list[int]] = {}
        batches = []
        for i in order:
            bucket = buckets.setdefault(self.shapes[i], [])
            bucket.append(i)
            if len(bucket) == self.batch_size:
                batches.append(buckets.pop(self.shapes[i]))
        if not self.drop_last:
            batches += list(buckets.values())
        usable = [b[: len(b) - len(b) % self.world] for b in batches]
        return [b for b in usable if b]

    def __iter__(self):
        return iter([b[self.rank :: self.world] for b in self.global_batches()])

    def __len__(self) -> int:
        return len(self.global_batches())
