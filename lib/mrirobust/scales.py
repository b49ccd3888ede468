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
        # embedded dataset written by `python -m mrirobust data --scale smoke`
        "data": {
            "source": "embedded",
            "seed": 0,
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
            "source": "fastmri",
            "seed": 0,
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
