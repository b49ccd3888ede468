"""Adversarial attacks that run on every Reconstructor."""

from mrirobust.attacks.pgd import PGDResult, kspace_pgd, pgd_global
from mrirobust.attacks.rotation import RotationResult, rotation_search
from mrirobust.attacks.untrained import TwoStepResult, two_step

__all__ = [
    "PGDResult",
    "RotationResult",
    "TwoStepResult",
    "kspace_pgd",
    "pgd_global",
    "rotation_search",
    "two_step",
]
