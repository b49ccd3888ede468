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

A section is named `<owner>.<section>`, the owner being a paper package or `shared` (the core),
and `python -m mrirobust profile --scale S` prints every section at a scale. A run that needs
other settings than its section's (e.g. a cheaper attack in one figure) picks a named variant,
itself per scale: `Profile(..., variants={"fig1": {"cpu": {"pgd_steps": 5}}})` and
`resolve("cpu", variant="fig1")`. The manifest passes a variant's name, never a section's
values, so it cannot contradict a profile. At the gpu scale a variant's paper entry applies
unless it has a gpu entry of its own (the gpu scale is the paper cut to one GPU-day).

A training section names its seed key (`seed_key="seed"`): the integer in the environment
variable MRIROBUST_SEED (default 0) is added to it at every scale, so `MRIROBUST_SEED=1 make
reproduce` trains every model with a second seed (`make stability` compares the verdicts).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from typing import Any

from mrirobust.paths import INHERITS, SCALES

__all__ = ["Profile", "SEED_ENV", "seed_offset"]

NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")  # <owner>.<section>

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
        variants: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    ):
        if not NAME.fullmatch(name):
            raise ValueError(
                f"profile name {name!r} must be <owner>.<section>, e.g. zhao2023.train"
            )
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
            self._check_keys(diff, f"scale {scale!r}")
        self.variants = {}
        for variant, per_scale in (variants or {}).items():
            unknown = sorted(set(per_scale) - set(SCALES))
            if unknown:
                raise ValueError(
                    f"profile {name!r}, variant {variant!r}: unknown scales {unknown}; "
                    f"valid scales: {', '.join(SCALES)}"
                )
            for scale, diff in per_scale.items():
                self._check_keys(diff, f"variant {variant!r} at scale {scale!r}")
            self.variants[variant] = {scale: dict(diff) for scale, diff in per_scale.items()}
        if seed_key is not None and seed_key not in self.paper:
            raise ValueError(f"profile {name!r}: seed_key {seed_key!r} is not a paper-scale key")

    def _check_keys(self, diff: Mapping[str, Any], where: str) -> None:
        unknown = sorted(set(diff) - set(self.paper))
        if unknown:
            raise ValueError(
                f"profile {self.name!r}, {where}: keys {unknown} are not paper-scale keys; "
                f"valid keys: {', '.join(sorted(self.paper))}"
            )

    def keys(self) -> list[str]:
        return sorted(self.paper)

    def resolve(
        self, scale: str, overrides: Mapping[str, Any] | None = None, variant: str | None = None
    ) -> dict[str, Any]:
        """The section at `scale`, then the named `variant`'s differences there (None or "":
        none), then `overrides` merged in (a new dict); its seed key (if any) plus
        `seed_offset()`.

        Raises ValueError naming the profile, scale, variant or key when one is unknown.
        """
        if scale not in SCALES:
            raise ValueError(
                f"profile {self.name!r}: unknown scale {scale!r}; valid scales: {', '.join(SCALES)}"
            )
        resolved = copy.deepcopy(
            {**self.paper, **self.diffs[scale], **self.variant_differences(variant, scale)}
        )
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

    def variant_differences(self, variant: str | None, scale: str) -> dict[str, Any]:
        """The keys the named `variant` changes at `scale` (at gpu: its paper entry, then its
        gpu entry); {} for None or ""."""
        if not variant:
            return {}
        if variant not in self.variants:
            raise ValueError(
                f"profile {self.name!r}: unknown variant {variant!r}; valid variants: "
                f"{', '.join(sorted(self.variants)) or 'none'}"
            )
        per_scale = self.variants[variant]
        return copy.deepcopy({**per_scale.get(INHERITS.get(scale), {}), **per_scale.get(scale, {})})

    def differences(self, scale: str) -> dict[str, Any]:
        """The keys in which `scale` differs from the paper scale."""
        self.resolve(scale)
        return copy.deepcopy(self.diffs[scale])
