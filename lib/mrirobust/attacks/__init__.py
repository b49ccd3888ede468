"""Adversarial attacks that run on every Reconstructor."""

from mrirobust.attacks.pgd import PGDResult, kspace_pgd, pgd_global
from mrirobust.attacks.rotation import RotationResult, angle_grid, rotated_pgd, rotation_search
from mrirobust.attacks.small_features import SmallFeatureResult, small_feature_map
from mrirobust.attacks.untrained import TwoStepResult, two_step

__all__ = [
    "PGDResult",
    "RotationResult",
    "SmallFeatureResult",
    "TwoStepResult",
    "angle_grid",
    "kspace_pgd",
    "pgd_global",
    "rotated_pgd",
    "rotation_search",
    "small_feature_map",
    "two_step",
]
