"""Huang & Liang's trained models as descriptions (`spec`): a U-Net (`models.unet`, the
reference's BatchNorm + PReLU variant) and, for the adversarial kinds, its generator
(`models.generator`). `mrirobust.zoo` builds, trains (`training.adversarial` through the
`MinMax` recipe), resumes and restores them like the other methods."""

from __future__ import annotations

import math

from mrirobust.models.generator import check_budget
from mrirobust.models.registry import ModelSpec
from mrirobust.models.unet import VARIANTS
from mrirobust.training.adversarial import ANATOMY, HINGE_MODES, KINDS, LATE, PARAMS


def spec(
    kind: str, scale: str, budget: float, params: dict, acceleration: int = 4, coils: int = 1
) -> ModelSpec:
    """The description of one min-max model (its checkpoint key hashes it with the data).

    `budget` is ε (per sample, in squared normalised units at this image size) for "image", η
    (relative, per coil) for "kspace" and 0 for "standard"; `params` has the keys
    `training.adversarial.PARAMS` and may have those of `LATE` (kept only where they differ
    from their default, so older checkpoints keep their names); `coils` is the data's (1 for
    single-coil; the k-space generator's width).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown min-max kind {kind!r}; valid: {', '.join(KINDS)}")
    budget = check_budget(budget, "eps" if kind == "image" else "eta")
    if kind == "standard" and budget != 0:
        raise ValueError(f"a standard model has no perturbation budget, got {budget!r}")
    missing = sorted(set(PARAMS) - set(params))
    extra = sorted(set(params) - set(PARAMS) - set(LATE))
    if missing or extra:
        raise ValueError(
            f"min-max parameters: missing {missing}, unknown {extra}; valid keys: "
            f"{', '.join(PARAMS + tuple(LATE))}"
        )
    p = {k: v for k, v in params.items() if k not in LATE or v != LATE[k]}
    if not (isinstance(p["batch_size"], int) and p["batch_size"] >= 2):
        raise ValueError(f"batch_size must be an integer >= 2, got {p['batch_size']!r}")
    steps = p.get("steps_per_epoch", 0)
    if isinstance(steps, bool) or not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"steps_per_epoch must be an integer >= 0 (0: all), got {steps!r}")
    if p["unet_variant"] not in VARIANTS or p["hinge"] not in HINGE_MODES:
        raise ValueError(
            f"unet_variant must be one of {', '.join(VARIANTS)} and hinge one of "
            f"{', '.join(HINGE_MODES)}, got {p['unet_variant']!r}, {p['hinge']!r}"
        )
    for key in ("ssim_range", "ssim_sigma"):
        value = p[key]
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{key} of the DSSIM loss must be a finite number > 0, got {value!r}")
    if not (isinstance(coils, int) and coils >= 1):
        raise ValueError(f"coils must be an integer >= 1, got {coils!r}")
    if kind == "standard":
        p["alpha1"] = 0.0
    return ModelSpec(
        method=f"unet_minmax_{kind}",
        scale=scale,
        anatomy=ANATOMY,
        acceleration=acceleration,
        center_fraction=p["center_fraction"],
        config=f"{p['challenge']}_budget{budget:g}",
        params={**p, "budget": budget, "coils": coils},
    )
