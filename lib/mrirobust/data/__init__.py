"""Data access: fastMRI / fastMRI+ readers and the embedded (synthetic) dataset generator."""

from mrirobust.data.annotations import (
    annotations_path,
    boxes_for,
    check_annotations,
    load_annotations,
    scale_annotations,
    slice_rows,
)
from mrirobust.data.fastmri_io import Slice, list_slices, read_slice, split_dir
from mrirobust.data.roots import ensure_embedded

__all__ = [
    "Slice",
    "annotations_path",
    "boxes_for",
    "check_annotations",
    "ensure_embedded",
    "list_slices",
    "load_annotations",
    "read_slice",
    "scale_annotations",
    "slice_rows",
    "split_dir",
]
