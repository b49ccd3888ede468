"""Adversarial attacks that run on every Reconstructor."""

from mrirobust.attacks.image import image_pgd
from mrirobust.attacks.pgd import PGDResult, kspace_pgd, pgd_global, project_ball
from mrirobust.attacks.rotation import RotationResult, angle_grid, rotated_pgd, rotation_search
from mrirobust.attacks.small_features import SmallFeatureResult, small_feature_map
from mrirobust.attacks.suite import every_attack
from mrirobust.attacks.untrained import TwoStepResult, is_untrained, two_step

__all__ = [
    "PGDResult",
    "RotationResult",
    "SmallFeatureResult",
    "TwoStepResult",
    "angle_grid",
    "every_attack",
    "image_pgd",
    "is_untrained",
    "kspace_pgd",
    "pgd_global",
    "project_ball",
    "rotated_pgd",
    "rotation_search",
    "small_feature_map",
    "two_step",
]
