"""Batches of one k-space shape (`training.datasets`): real fastMRI files differ in width and
coil count, so slices of different files are batched only when their shapes agree."""

from pathlib import Path

import pytest
import torch

from mrirobust.training import datasets


class _Items:
    """A stand-in dataset: only `items` is read (the shapes come from `item_shapes`)."""

    def __init__(self, shapes):
        self.items = [(Path(f"f{i}.h5"), 0) for i in range(len(shapes))]


def _with_shapes(monkeypatch, shapes):
    by_name = {f"f{i}.h5": s for i, s in enumerate(shapes)}
    monkeypatch.setattr(datasets, "_file_shape", lambda path: by_name[path.name])
    return _Items(shapes)


def test_evaluation_batches_keep_the_order_and_never_mix_shapes(monkeypatch):
    a, b = (15, 640, 368), (16, 640, 372)
    dataset = _with_shapes(monkeypatch, [a, a, a, b, b, a])
    assert datasets.shape_batches(dataset, 2) == [[0, 1], [2], [3, 4], [5]]


def test_one_shape_gives_the_order_of_a_distributed_sampler(monkeypatch):
    dataset = _with_shapes(monkeypatch, [(4, 64, 72)] * 7)
    batches = datasets.ShuffledShapeBatches(dataset, 2, seed=3)
    batches.set_epoch(5)
    order = torch.randperm(7, generator=torch.Generator().manual_seed(3 + 5)).tolist()
    assert list(batches) == [order[i : i + 2] for i in range(0, 7, 2)]


def test_training_batches_hold_one_shape_and_every_slice_once(monkeypatch):
    shapes = [(15, 640, 368)] * 5 + [(16, 640, 372)] * 4
    dataset = _with_shapes(monkeypatch, shapes)
    batches = list(datasets.ShuffledShapeBatches(dataset, 2, seed=0))
    assert all(len({shapes[i] for i in batch}) == 1 for batch in batches)
    assert sorted(i for batch in batches for i in batch) == list(range(9))
    full = list(datasets.ShuffledShapeBatches(dataset, 2, seed=0, drop_last=True))
    assert all(len(batch) == 2 for batch in full) and len(full) == 4


def test_processes_split_every_global_batch(monkeypatch):
    dataset = _with_shapes(monkeypatch, [(15, 640, 368)] * 6 + [(16, 640, 372)] * 6)
    whole = datasets.ShuffledShapeBatches(dataset, 4, seed=1).global_batches()
    ranks = [
        list(datasets.ShuffledShapeBatches(dataset, 4, seed=1, world=2, rank=r)) for r in (0, 1)
    ]
    for batch, first, second in zip(whole, *ranks, strict=True):
        assert sorted(first + second) == sorted(batch) and len(first) == len(second)


def test_tuning_slices_spread_over_the_training_split_away_from_its_ends():
    items = [(Path(f"f{i // 10}.h5"), i % 10) for i in range(40)]
    picks = datasets.tuning_items(items, 3)
    assert picks == [items[6], items[20], items[33]]  # floor((k + 1/2) 40 / 3)
    assert datasets.tuning_items(items, 40) == items
    for count in (0, 41):
        with pytest.raises(ValueError, match="tuning needs 1 to 40 training slices"):
            datasets.tuning_items(items, count)
