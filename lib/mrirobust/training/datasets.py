"""Training and validation data: the slices of a scale's data set and masked-slice datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mrirobust import data, physics, scales


def slices(
    scale: str, split: str, anatomy: str, challenge: str = "multicoil"
) -> list[tuple[Path, int]]:
    """Every (file, slice index) of `anatomy`'s `<challenge>_<split>` folder at `scale`
    (embedded data is generated first when missing)."""
    if scales.resolve(scale, "data")["source"] == "embedded":
        data.ensure_embedded(scale)
    return data.list_slices(data.split_dir(scale, anatomy, split, challenge))


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
