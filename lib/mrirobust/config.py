"""Profiles written once: a section's values at paper scale, and per smaller scale only what
differs. The `shape` scale is the paper configuration on a few real-shaped files with every loop
cut to one step: its differences are the cut loops. The `gpu` scale is the paper configuration
on the real data cut to fit one GPU-day: its differences are the cuts.

    ATTACK = Profile("morshuis2022.attack",
                     paper=dict(eta_grid=[0, .002, .005, .01, .015, .02, .025], pgd_steps=10),
                     cpu=dict(pgd_steps=5),
                     smoke=dict(eta_grid=[0, .01, .025], pgd_steps=2))
    ATTACK.resolve("cpu")  # {"eta_grid": [...paper...], "pgd_steps": 5}

A smaller scale may only change keys that the paper scale defines, so a reader sees every key
once and each difference where it is made.

A training section names its seed key (`seed_key="seed"`): the integer in the environment
variable MRIROBUST_SEED (default 0) is added to it at every scale, so `MRIROBUST_SEED=1 make
reproduce` trains every model with a second seed (`make stability` compares the verdicts).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

from mrirobust.paths import SCALES

__all__ = ["Profile", "SEED_ENV", "seed_offset"]

SEED_ENV = "MRIROBUST_SEED"


def seed_offset() -> int:
    """The training-seed offset in MRIROBUST_SEED: a non-negative integer, 0 when unset."""
    text = os.environ.get(SEED_ENV, "0").strip() or "0"
    if not text.isdigit():
        raise ValueError(f"{SEED_ENV}={text!r}: expected a non-negative integer (0: the default)")
    return int(text)


class Profile:
    """One section of the scale profiles: paper values plus per-scale differences."""

    def __init__(
        self,
        name: str,
        paper: Mapping[str, Any],
        cpu: Mapping[str, Any] | None = None,
        smoke: Mapping[str, Any] | None = None,
        shape: Mapping[str, Any] | None = None,
        gpu: Mapping[str, Any] | None = None,
        seed_key: str | None = None,
    ):
        self.name = name
        self.seed_key = seed_key
        self.paper = dict(paper)
        self.diffs = {
            "paper": {},
            "cpu": dict(cpu or {}),
            "smoke": dict(smoke or {}),
            "shape": dict(shape or {}),
            "gpu": dict(gpu or {}),
        }
        for scale, diff in self.diffs.items():
            unknown = sorted(set(diff) - set(self.paper))
            if unknown:
                raise ValueError(
                    f"profile {name!r}, scale {scale!r}: keys {unknown} are not paper-scale keys; "
                    f"valid keys: {', '.join(sorted(self.paper))}"
                )
        if seed_key is not None and seed_key not in self.paper:
            raise ValueError(f"profile {name!r}: seed_key {seed_key!r} is not a paper-scale key")

    def keys(self) -> list[str]:
        return sorted(self.paper)

    def resolve(self, scale: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The section at `scale` with `overrides` merged in (a new dict), its seed key (if any)
        plus `seed_offset()`.

        Raises ValueError naming the profile, scale or key when one is unknown.
        """
        if scale not in SCALES:
            raise ValueError(
                f"profile {self.name!r}: unknown scale {scale!r}; valid scales: {', '.join(SCALES)}"
            )
        resolved = copy.deepcopy({**self.paper, **self.diffs[scale]})
        for key, value in (overrides or {}).items():
            if key not in resolved:
                raise ValueError(
                    f"unknown {self.name!r} parameter {key!r} for scale {scale!r}; "
                    f"valid keys: {', '.join(sorted(resolved))}"
                )
            resolved[key] = copy.deepcopy(value)
        if self.seed_key is not None:
            resolved[self.seed_key] += seed_offset()
        return resolved

    def differences(self, scale: str) -> dict[str, Any]:
        """The keys in which `scale` differs from the paper scale."""
        self.resolve(scale)
        return copy.deepcopy(self.diffs[scale])
