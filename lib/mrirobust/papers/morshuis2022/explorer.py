"""Morshuis et al. 2022 in the explorer (`mrirobust.explorer`): the U-Net and the E2E-VarNet at
each acceleration on the annotated knee slices, under the box-targeted per-coil k-space PGD
(eq. 4, strength η) and the worst rotation within |θ| <= θ_max (eq. 5), both scored on the box
(region SSIM and PSNR, data range of the full target: `metrics.region_scores`).

The attacks are the paper's (`experiments.box_pgd`, `attacks.rotation_search` with the
profile's settings); they apply to every differentiable (PGD) or every (rotation) model of the
knee domain, so Darestani et al.'s models take them too.
"""

from __future__ import annotations

import torch

from mrirobust import attacks, costs, metrics, papers, physics
from mrirobust.explorer import AttackEntry, Catalog, ModelEntry, Perturbed, strengths, zoo_entry
from mrirobust.explorer.knee import KneeSlice, KneeSlices
from mrirobust.papers.morshuis2022 import experiments, profile

PAPER = "Morshuis 2022"
NAMES = {"unet": "U-Net", "varnet": "E2E-VarNet"}
TRAINED_BY = "train_models"  # the run that trains the models


def region_scores(target: torch.Tensor, image: torch.Tensor, region) -> dict[str, float]:
    """Region SSIM and PSNR of one image (`metrics.region_scores`)."""
    scores = metrics.region_scores(target[None], image[None], region[None])
    return {
        "region SSIM": float(scores["ssim_region"]),
        "region PSNR": float(scores["psnr_region"]),
    }


def register(
    catalog: Catalog,
    *,
    samples: int | None = 8,
    config: str = "",
    methods=("unet", "varnet"),
    accelerations=(4, 8),
    attack_overrides: dict | None = None,
) -> None:
    """Add the knee domain (`samples` boxes), the models of `methods` x `accelerations` under
    the named model `config` ("": the scale's sizes; "morshuis": the paper's) and both attacks
    with the profile's settings (`profile.attack`, `attack_overrides`)."""
    scale = catalog.scale
    knee = catalog.share(KneeSlices(scale, samples or None))
    settings = profile.attack(scale, attack_overrides)
    for method in methods:
        for acceleration in accelerations:
            spec = papers.model_spec(method, scale, acceleration, config or None)
            label = f"{NAMES[method]} {acceleration}×"
            catalog.add(
                zoo_entry(
                    f"morshuis2022/{method}_{acceleration}x",
                    label,
                    PAPER,
                    knee.id,
                    spec,
                    {"network", "differentiable"},
                    TRAINED_BY,
                )
            )

    def box_pgd(entry: ModelEntry, model, data: KneeSlice, eta: float) -> Perturbed:
        kspace, mask, target, box = knee.batch(data, entry.acceleration)
        if eta == 0:
            return knee.perturbed(data, kspace, torch.zeros_like(data.target), unchanged=True)
        result = experiments.box_pgd(
            model, kspace, mask, target, box, eta=eta, mode="region", attack=settings
        )
        z = result.perturbation.cpu()
        return knee.perturbed(
            data,
            kspace + z,
            knee.zero_filled(z, mask, data),
            label="perturbation (zero-filled)",
            known={entry.id: result.reconstruction[0]},
        )

    angles = attacks.angle_grid(settings["angle_max"], settings["angle_step"])
    batch = settings["rotation_batch"]

    def rotation(entry: ModelEntry, model, data: KneeSlice, theta_max: float) -> Perturbed:
        kspace, mask, target, box = knee.batch(data, entry.acceleration)
        allowed = angles[angles.abs() <= theta_max + 1e-6]
        parts = []
        for chunk in allowed.split(batch):  # one timed step a pass: progress, interruption
            with costs.timed("attack", type(model).__name__):
                parts.append(
                    attacks.rotation_search(
                        model,
                        kspace,
                        mask,
                        target,
                        angles=chunk,
                        region=box,
                        data_range="max-min",
                        progress=False,
                    )
                )
        found = attacks.RotationResult(
            allowed,
            torch.cat([p.losses.cpu() for p in parts]),
            torch.cat([p.ssim.cpu() for p in parts]),
        )
        angle = float(found.worst(theta_max)[0][0])
        if angle == 0:
            note = "worst angle 0°: no rotation"
            return knee.perturbed(
                data, kspace, torch.zeros_like(data.target), unchanged=True, note=note
            )
        rotated = physics.rotate_kspace(kspace, angle)
        size = tuple(data.target.shape)
        return knee.perturbed(
            data,
            rotated,
            physics.rss_crop(rotated, size)[0] - data.target,
            back=lambda image: physics.rotate(image, -angle),
            label="rotated − original scan",
            signed=True,
            note=f"worst angle {angle:+g}° of {len(allowed)}",
        )

    catalog.add(
        AttackEntry(
            id="morshuis2022/box_pgd",
            label="box-targeted k-space PGD",
            paper=PAPER,
            domain=knee.id,
            symbol="η",
            strengths=strengths(settings["eta_grid"]),
            perturb=box_pgd,
            score=region_scores,
            applies=lambda entry: "differentiable" in entry.tags,
            requirement="differentiable reconstructions (U-Net, VarNet, l1)",
            fmt="{:.2%}",
            steps=settings["pgd_steps"],
        ),
        AttackEntry(
            id="morshuis2022/rotation",
            label="worst rotation",
            paper=PAPER,
            domain=knee.id,
            symbol="θ_max",
            strengths=strengths(settings["theta_max"]),
            perturb=rotation,
            score=region_scores,
            fmt="{:g}°",
            steps=-(-len(angles) // batch),
        ),
    )
