"""Adversarial attacks that run on every Reconstructor."""

from mrirobust.attacks.pgd import PGDResult, kspace_pgd, pgd_global
from mrirobust.attacks.rotation import RotationResult, rotation_search

__all__ = ["PGDResult", "RotationResult", "kspace_pgd", "pgd_global", "rotation_search"]
