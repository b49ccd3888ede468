"""fastMRI+ bounding-box annotations (Zhao et al. 2022): read, unflip, validate, write.

The CSV columns are `file,slice,study_level,x,y,width,height,label`, in pixels of the target
image **flipped up-down**, (x, y) the top-left corner. We return boxes on the unflipped target,
y_unflipped = target_height - y - height (target_height = 320 for the real data). Rows that
carry no usable box (study-level rows, y = -1, zero width or height) are dropped with one
counted warning.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import torch

from mrirobust.paths import annotations_dir, embedded_root, environment_root, real_data_root
from mrirobust.storage import atomic_write

COLUMNS = ["file", "slice", "study_level", "x", "y", "width", "height", "label"]
BOX_COLUMNS = ["file", "slice", "x", "y", "width", "height", "label"]
NUMBER_COLUMNS = ["slice", "x", "y", "width", "height"]
REAL_TARGET_HEIGHT = 320


def load_annotations(
    csv_path: str | os.PathLike, target_height: int = REAL_TARGET_HEIGHT
) -> pd.DataFrame:
    """Usable boxes of a fastMRI+ CSV, unflipped: columns file, slice, x, y, width, height, label.

    Study-level rows, rows with y = -1 and boxes of zero width or height are skipped with one
    warning that counts each kind.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"annotation file {csv_path} does not exist")
    try:
        df = pd.read_csv(csv_path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(
            f"{csv_path}: not a readable fastMRI+ annotation CSV ({type(err).__name__}: {err}); "
            f"expected a text CSV with the header {','.join(COLUMNS)}"
        ) from err
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{csv_path}: missing columns {missing} (expected {COLUMNS})")
    for col in NUMBER_COLUMNS:
        numbers = pd.to_numeric(df[col], errors="coerce")
        bad = numbers.isna() & df[col].notna()
        if bad.any():
            lines = [int(i) + 2 for i in df.index[bad][:5]]  # + header line, 1-based
            raise ValueError(
                f"{csv_path}: column {col!r} must hold numbers; line(s) {lines} hold "
                f"{df.loc[bad, col].head(5).tolist()}"
            )
        df[col] = numbers
    df["label"] = df["label"].astype(str).str.strip()
    study = (df["study_level"].astype(str).str.strip() == "Yes") | df["x"].isna()
    y_neg = ~study & (df["y"] < 0)
    empty = ~study & ~y_neg & ((df["width"] <= 0) | (df["height"] <= 0))
    skipped = study | y_neg | empty
    if skipped.any():
        warnings.warn(
            f"{csv_path.name}: skipped {int(skipped.sum())} of {len(df)} rows without a usable "
            f"box: {int(study.sum())} study-level, {int(y_neg.sum())} with y = -1, "
            f"{int(empty.sum())} with zero width or height",
            stacklevel=2,
        )
    boxes = df.loc[~skipped].copy()
    for col in ("slice", "x", "y", "width", "height"):
        boxes[col] = boxes[col].astype(int)
    boxes["y"] = target_height - boxes["y"] - boxes["height"]
    return boxes[BOX_COLUMNS].reset_index(drop=True)


def annotations_path(scale: str, anatomy: str) -> Path:
    """The CSV for `anatomy` (knee | brain) at `scale`.

    Paper scale: `<fastmri_plus_root>/<anatomy>.csv` when FASTMRI_PLUS_ROOT (or
    `fastmri_plus_root` in data/paths.yaml) is set, else the shipped data/annotations/ copy.
    Shape scale: FASTMRI_PLUS_ROOT's CSV when the environment sets it, else the shipped copy
    when the environment sets FASTMRI_ROOT (real files), else the generated real-shaped data's.
    The embedded scales: the embedded data's CSV.
    """
    from mrirobust.scales import resolve

    if anatomy not in ("knee", "brain"):
        raise ValueError(f"annotations exist for anatomy 'knee' or 'brain', got {anatomy!r}")
    name = f"{anatomy}.csv"
    source = resolve(scale, "data")["source"]
    if source == "shape":
        if environment_root("fastmri_plus_root") is not None:
            return environment_root("fastmri_plus_root") / name
        if environment_root("fastmri_root") is not None:
            return annotations_dir() / name
    if source != "fastmri":
        return embedded_root(scale) / "annotations" / name
    try:
        return real_data_root("fastmri_plus_root") / name
    except FileNotFoundError:
        return annotations_dir() / name


def scale_annotations(scale: str, anatomy: str) -> pd.DataFrame:
    """The usable boxes of `anatomy` at `scale`, unflipped with that scale's target size
    (64 / 128 for the embedded smoke / cpu data, 320 for the real and real-shaped data)."""
    from mrirobust.scales import resolve

    height = resolve(scale, "data")["target_size"]
    return load_annotations(annotations_path(scale, anatomy), target_height=height)


def slice_rows(df: pd.DataFrame, fname: str, slice_index: int) -> pd.DataFrame:
    """The annotation rows (boxes and labels) of one slice."""
    return df[(df["file"] == fname) & (df["slice"] == int(slice_index))]


def boxes_for(df: pd.DataFrame, fname: str, slice_index: int) -> torch.Tensor:
    """The (n, 4) long tensor of boxes (x, y, width, height) of one slice (n may be 0)."""
    boxes = slice_rows(df, fname, slice_index)[["x", "y", "width", "height"]].to_numpy()
    return torch.tensor(boxes, dtype=torch.long).reshape(-1, 4)


def check_annotations(df: pd.DataFrame, directory: str | os.PathLike) -> None:
    """Raise ValueError when a row names a slice missing from its file in `directory`.

    Rows whose file is not in `directory` are ignored (one CSV covers train and val).
    """
    from mrirobust.data.fastmri_io import num_slices

    directory = Path(directory)
    for fname, rows in df.groupby("file"):
        path = directory / f"{fname}.h5"
        if not path.is_file():
            continue
        n = num_slices(path)
        bad = sorted(set(rows["slice"][(rows["slice"] < 0) | (rows["slice"] >= n)].tolist()))
        if bad:
            raise ValueError(
                f"annotation for file {fname} names slice(s) {bad}, but {path} has {n} slices "
                f"(valid 0..{n - 1})"
            )


def write_annotations(rows: list[dict], csv_path: str | os.PathLike, target_height: int) -> None:
    """Write unflipped boxes as a fastMRI+ CSV (flipping y back), atomically."""
    df = pd.DataFrame(rows, columns=BOX_COLUMNS)
    df["y"] = target_height - df["y"] - df["height"]
    df["study_level"] = "No"
    atomic_write(Path(csv_path), lambda tmp: df[COLUMNS].to_csv(tmp, index=False))
