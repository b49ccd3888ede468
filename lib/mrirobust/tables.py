"""Result tables and arrays of a run: summaries with confidence intervals, and atomic writes of
the CSV / JSON / npz files under `results/<scale>/<run-id>/` that figures are drawn from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mrirobust.storage import atomic_file, atomic_write, read_json, write_json


def summarise(table: pd.DataFrame, by: Sequence[str], value: str = "ssim_region") -> pd.DataFrame:
    """Mean, standard deviation, count and a 95 % normal confidence interval
    mean ± 1.96·std/√count of `value` per group of `by` (std 0 for single rows)."""
    if table.empty:
        raise ValueError(f"cannot summarise {value!r}: the table is empty")
    grouped = table.groupby(list(by))[value]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    half = 1.96 * out["std"].fillna(0.0) / out["count"].clip(lower=1) ** 0.5
    return out.assign(ci_low=out["mean"] - half, ci_high=out["mean"] + half)


def save_table(out: Path, name: str, table: pd.DataFrame, index: bool = False) -> Path:
    """Write `table` to `out/<name>.csv` atomically."""
    path = Path(out) / f"{name}.csv"
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=index))
    return path


@contextmanager
def table_writer(out: Path, name: str) -> Iterator[Callable[[pd.DataFrame], None]]:
    """`with table_writer(out, name) as write:` each `write(chunk)` appends the rows of `chunk`
    (the same columns every time) to `out/<name>.csv`, so a long run holds one chunk of rows at
    a time; the file appears, atomically, when the block ends without error and wrote a table."""
    path = Path(out) / f"{name}.csv"
    with atomic_file(path) as tmp:
        columns: list = []

        def write(chunk: pd.DataFrame) -> None:
            if columns and list(chunk.columns) != columns:
                raise ValueError(
                    f"{path}: a chunk has columns {list(chunk.columns)}, the table {columns}"
                )
            chunk.to_csv(tmp, index=False, mode="a" if columns else "w", header=not columns)
            columns[:] = columns or list(chunk.columns)

        yield write
        if not columns:
            raise ValueError(f"{path}: no table was written")


def load_table(out: Path, name: str, **read_csv) -> pd.DataFrame:
    """`out/<name>.csv` as a DataFrame."""
    return pd.read_csv(Path(out) / f"{name}.csv", **read_csv)


def save_json(out: Path, name: str, record: Mapping[str, Any]) -> Path:
    """Write `record` to `out/<name>.json` (indented) atomically."""
    path = Path(out) / f"{name}.json"
    write_json(path, record)
    return path


def load_json(out: Path, name: str) -> dict[str, Any]:
    """`out/<name>.json`."""
    return read_json(Path(out) / f"{name}.json")


def save_images(out: Path, name: str, images: Mapping[str, torch.Tensor | np.ndarray]) -> Path:
    """Write the named arrays (tensors, numpy arrays or scalars) to `out/<name>.npz`
    (compressed) atomically."""
    arrays = {
        key: value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
        for key, value in images.items()
    }

    def write(tmp: Path) -> None:
        with tmp.open("wb") as file:  # a file object: numpy would append .npz to a name
            np.savez_compressed(file, **arrays)

    path = Path(out) / f"{name}.npz"
    atomic_write(path, write)
    return path


def load_images(out: Path, name: str) -> dict[str, np.ndarray]:
    """The arrays of `out/<name>.npz`."""
    with np.load(Path(out) / f"{name}.npz") as stored:
        return dict(stored)
