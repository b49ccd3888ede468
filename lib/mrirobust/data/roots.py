"""The fastMRI data root of a scale, generated first where the scale generates its data (a
module of its own: it dispatches to both generators, and the shape generator builds on the
embedded one)."""

from __future__ import annotations

from pathlib import Path

from mrirobust.data import embedded, shaped
from mrirobust.paths import embedded_root, real_data_root
from mrirobust.scales import resolve


def ensure_embedded(scale: str, progress: bool = True) -> Path:
    """The data root of `scale`: the embedded dataset, generated first when missing or
    incomplete; at paper scale the configured real fastMRI root; at the shape scale
    FASTMRI_ROOT when the environment sets it, else the real-shaped files
    (`mrirobust.data.shaped`), generated first when missing."""
    source = resolve(scale, "data")["source"]
    if source == "fastmri":
        return real_data_root("fastmri_root")
    if source == "shape":
        return shaped.ensure(progress=progress)
    if not embedded.is_complete(scale):
        embedded.generate(scale, progress=progress)
    return embedded_root(scale)
