"""Adversarial attacks that run on every Reconstructor."""

from mrirobust.attacks.pgd import PGDResult, kspace_pgd, pgd_global

__all__ = ["PGDResult", "kspace_pgd", "pgd_global"]
