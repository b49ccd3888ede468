"""Scale profiles: `smoke` (CI, ~1 min per notebook on 2 CPU cores), `cpu` (the embedded data
at a size that shows each paper's effects on a laptop), `paper` (the papers' data and sizes, GPU).

Sizes, iterations, grids and data sources come from here, never from hardware sniffing.
A profile is a mapping of sections (``data``, ``train``, ``attack``, ...) to flat dicts of
literals. `resolve(scale, section, overrides)` returns a copy with overrides merged in and
rejects unknown scales, sections and keys.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mrirobust.paths import SCALES

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {
        # embedded dataset written by `python -m mrirobust data --scale smoke` (data/README.md)
        "data": {
            "source": "embedded",  # embedded synthetic stand-in (mrirobust.data.embedded)
            "seed": 0,  # generator seed: same seed -> byte-identical files
            "target_size": 64,  # reconstruction_rss is target_size x target_size
            "readout_oversampling": 2,  # k-space H = 2 x target_size, as in fastMRI
            "padding_columns": 4,  # unacquired zero columns on each side: W = target + 2 x 4
            "coils": 4,
            "slices_per_volume": 4,
            "knee_train_volumes": 3,
            "knee_val_volumes": 2,
            "brain_train_volumes": 2,
            "brain_val_volumes": 2,
            "knee_shifted_val_volumes": 2,
            "snr_knee": 30.0,  # mean foreground signal / noise std (real part) per coil sample
            "snr_brain": 40.0,
            "snr_shifted": 12.0,
            "shifted_coils": 2,  # knee_shifted: other coil count, no oversampling, CORT2_FBK
            "lesions_train": 1,  # lesions per volume (plus one ACL box on the central slices)
            "lesions_val": 3,
            "min_box": 4,  # boxes grown to at least this many pixels per side
            "intensity_scale": 1e-3,  # phantom intensities (<= ~1) times this, like fastMRI
        },
        # model sizes and training schedule
        "train": {
            "seed": 0,
        },
        # attack defaults
        "attack": {
            "seed": 0,
        },
    },
    "cpu": {
        "data": {
            "source": "embedded",
            "seed": 0,
            "target_size": 128,
            "readout_oversampling": 2,
            "padding_columns": 6,
            "coils": 15,
            "slices_per_volume": 10,
            "knee_train_volumes": 16,
            "knee_val_volumes": 4,
            "brain_train_volumes": 6,
            "brain_val_volumes": 3,
            "knee_shifted_val_volumes": 4,
            "snr_knee": 30.0,
            "snr_brain": 40.0,
            "snr_shifted": 12.0,
            "shifted_coils": 8,
            "lesions_train": 2,
            "lesions_val": 4,
            "min_box": 7,  # the SSIM window is 7 x 7
            "intensity_scale": 1e-3,
        },
        "train": {
            "seed": 0,
        },
        "attack": {
            "seed": 0,
        },
    },
    "paper": {
        "data": {
            "source": "fastmri",  # real fastMRI + fastMRI+ (FASTMRI_ROOT, data/paths.yaml)
            "seed": 0,
            "target_size": 320,  # reconstruction_rss of the real data
        },
        "train": {
            "seed": 0,
        },
        "attack": {
            "seed": 0,
        },
    },
}

assert tuple(PROFILES) == SCALES


def resolve(scale: str, section: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `section` of profile `scale`, with `overrides` merged in (a new dict).

    Raises ValueError naming the scale, section or key when one is unknown.
    """
    if scale not in PROFILES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(PROFILES)}")
    profile = PROFILES[scale]
    if section not in profile:
        raise ValueError(
            f"unknown profile section {section!r} for scale {scale!r}; "
            f"valid sections: {', '.join(profile)}"
        )
    resolved = copy.deepcopy(profile[section])
    for key, value in (overrides or {}).items():
        if key not in resolved:
            raise ValueError(
                f"unknown {section!r} parameter {key!r} for scale {scale!r}; "
                f"valid keys: {', '.join(sorted(resolved))}"
            )
        resolved[key] = value
    return resolved
