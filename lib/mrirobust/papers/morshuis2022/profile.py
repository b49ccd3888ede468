"""Morshuis 2022 settings: the paper's reduced model sizes and the attack section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrirobust.config import Profile

# VarNet 8 cascades (from 12), channels halved, sensitivity U-Net top channels 6; U-Net halved
MODEL_SIZES = {
    "morshuis": {
        "unet_chans": 16,
        "unet_pools": 4,
        "varnet_cascades": 8,
        "varnet_chans": 9,
        "varnet_pools": 4,
        "varnet_sens_chans": 6,
        "varnet_sens_pools": 4,
    }
}

# k-space PGD (eq. 4) and adversarial rotations (eq. 5), the reference code's settings
ATTACK = Profile(
    "morshuis2022.attack",
    paper={
        "seed": 0,
        "eta_grid": [0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025],  # per-coil relative budgets
        "pgd_steps": 10,  # PGD iterations
        "pgd_step_size": 0.5,  # step relative to the budget
        "pgd_rule": "exact",  # "exact" projection or the "reference" code's update
        # (η, box) pairs per forward and backward pass (bounds memory; results unchanged): a
        # cpu VarNet step cost 0.28 s a slice on 7 or 14 pairs, 0.47 s on 28
        "pgd_per_pass": 7,
        "angle_max": 4.9,  # rotation grid spans [-angle_max, angle_max] degrees
        "angle_step": 0.1,  # rotation grid spacing in degrees
        "theta_max": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],  # worst-case angle within |theta| <= each
        "rotation_batch": 16,  # angles per forward pass
    },
    cpu={"angle_step": 0.5, "rotation_batch": 8},
    smoke={
        "eta_grid": [0.0, 0.01, 0.025],
        "pgd_steps": 2,
        "angle_max": 2.0,
        "angle_step": 1.0,
        "theta_max": [0.0, 1.0, 2.0],
        "rotation_batch": 5,
    },
    # every loop cut to one step, keeping what the claims and figures need: η 0 and the
    # largest η (Fig. 1's curves and every Fig. 1 claim compare them), one PGD step, the
    # grid's ends beside 0 (one rotation pass), θ_max 0 and one bound that holds them
    shape={
        "eta_grid": [0.0, 0.025],
        "pgd_steps": 1,
        "angle_step": 4.9,
        "theta_max": [0.0, 5.0],
    },
    # Fig. 1 at cpu: 5 PGD steps (16 boxes x 7 budgets x 4 models x 2 modes at 8x)
    variants={"fig1": {"cpu": {"pgd_steps": 5}}},
)


def attack(
    scale: str, overrides: Mapping[str, Any] | None = None, variant: str | None = None
) -> dict[str, Any]:
    """The attack section at `scale`, its named `variant` (a notebook's `attack_variant`) and
    `overrides` (a notebook's `attack_overrides`)."""
    return ATTACK.resolve(scale, overrides, variant)
