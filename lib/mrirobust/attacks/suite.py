"""Every attack of the project on one model at given budgets, scored one way: the one home of
"every attack on every model" (Darestani et al.'s every-attack table, Huang & Liang's models
under the other papers' attacks).

`budgets` names the attacks to run, each with its list of budgets:

- "pgd": Darestani et al.'s eq. 2 (`pgd_global`), ‖z‖ <= ε‖y‖ on the sampled locations;
- "two_step": their eq. 3 (`two_step`) at the same ε, for methods with the un-trained protocol
  (`untrained.is_untrained`), with `two_step_settings` (beta, steps, warmup_steps);
- "kspace_pgd": Morshuis et al.'s eq. 4 (`kspace_pgd`), ‖z_i‖ <= η‖k_i‖ per coil, maximising
  the error on `region` (the whole image without one);
- "image_pgd": Huang & Liang's PGD on the U-Net's normalised input (`image_pgd`),
  ‖δ‖ <= ρ √(h w);
- "rotation": Morshuis et al.'s eq. 5 (`rotation_search` over `angles`): per θ_max, the angle
  with |θ| <= θ_max of the largest MSE on `region`.

Scoring: SSIM against the target with the project's data range (`metrics.DEFAULT_DATA_RANGE`,
named in every row), on `region` for the attacks that target it (kspace_pgd, rotation; given a
region) and on the whole image for the others. `ssim_clean` is the unattacked reconstruction's
SSIM on the same pixels, so `ssim_drop` = clean − attacked is the damage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch

from mrirobust import costs, devices, metrics, physics
from mrirobust.attacks.image import image_pgd
from mrirobust.attacks.pgd import kspace_pgd, pgd_global
from mrirobust.attacks.rotation import rotation_search
from mrirobust.attacks.untrained import two_step

ATTACKS = ("pgd", "two_step", "kspace_pgd", "image_pgd", "rotation")
TARGETED = ("kspace_pgd", "rotation")  # scored on the region they attack


def _check(budgets: Mapping[str, Sequence[float]], angles, two_step_settings) -> None:
    unknown = sorted(set(budgets) - set(ATTACKS))
    if unknown or not budgets:
        raise ValueError(f"budgets must name attacks of {ATTACKS}, got {sorted(budgets)}")
    for attack, values in budgets.items():
        if not values or any(not 0 <= float(v) < float("inf") for v in values):
            raise ValueError(f"budgets[{attack!r}] must be budgets >= 0, got {values!r}")
    if "rotation" in budgets and (angles is None or 0.0 not in [float(a) for a in angles]):
        raise ValueError(f"angles must contain 0 (no rotation) for rotations, got {angles}")
    if "two_step" in budgets and two_step_settings is None:
        raise ValueError("the two_step attack needs two_step_settings (beta, steps, warmup_steps)")


def _reconstructions(attack, recon, kspace, mask, target, values, *, region, settings, two):
    """The reconstructions `(E, B, h, w)` under the PGD-type `attack` at the budgets `values`;
    `settings` the PGD keywords, `two` the two-step attack's."""
    y = physics.apply_mask(kspace, mask)
    if attack == "pgd":
        result = pgd_global(recon, y, mask, eps=values, **settings)
    elif attack == "kspace_pgd":
        result = kspace_pgd(recon, kspace, mask, target, eta=values, region=region, **settings)
    elif attack == "image_pgd":
        result = image_pgd(recon, y, mask, target, rho=values, **settings)
    else:
        result = two_step(recon, y, mask, eps=values, seed=settings["seed"], progress=False, **two)
    return result.reconstruction


def every_attack(
    recon,
    kspace: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    budgets: Mapping[str, Sequence[float]],
    *,
    region=None,
    angles: Sequence[float] | None = None,
    steps: int,
    step_size: float = 0.5,
    seed: int = 0,
    two_step_settings: Mapping | None = None,
) -> pd.DataFrame:
    """The attacks of `budgets` on `recon` for fully sampled `kspace` `(B, C, H, W)`, `mask` and
    `target` `(B, h, w)`; `region` boxes or mask on the target. One row per (attack, budget,
    slice): `slice` (position in the batch), `scored_on` ("region" | "image"), `data_range`
    (the scoring rule), `ssim_clean`, `ssim_attacked` and `ssim_drop`."""
    _check(budgets, angles, two_step_settings)
    kspace, mask, target = devices.to_model(recon, kspace, mask, target)
    settings = {"steps": steps, "step_size": step_size, "seed": seed, "progress": False}

    def ssim(image: torch.Tensor, on: str) -> torch.Tensor:
        scored = region if on == "region" else None
        return metrics.ssim(target, image.detach(), region=scored).cpu()

    with torch.no_grad():
        clean = recon(physics.apply_mask(kspace, mask), mask)
    rows = []
    for attack, values in budgets.items():
        values = [float(v) for v in values]
        on = "region" if attack in TARGETED and region is not None else "image"
        if attack == "rotation":
            with costs.timed("attack", type(recon).__name__):
                found = rotation_search(
                    recon, kspace, mask, target, angles=angles, region=region, progress=False
                )
            attacked = [found.worst_ssim(theta).cpu() for theta in values]
        else:
            outs = _reconstructions(
                attack,
                recon,
                kspace,
                mask,
                target,
                values,
                region=region,
                settings=settings,
                two=two_step_settings,
            )
            attacked = [ssim(out, on) for out in outs]
        before = ssim(clean, on)
        rows += [
            {
                "attack": attack,
                "budget": budget,
                "slice": j,
                "scored_on": on,
                "data_range": metrics.DEFAULT_DATA_RANGE,
                "ssim_clean": float(before[j]),
                "ssim_attacked": float(after[j]),
            }
            for budget, after in zip(values, attacked, strict=True)
            for j in range(len(target))
        ]
    table = pd.DataFrame(rows)
    return table.assign(ssim_drop=table.ssim_clean - table.ssim_attacked)
